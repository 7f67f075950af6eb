// `bench --compare` report: knee and common-load pick, the per-server table of W1 anchor fields, ratios pibake-im vs Prosody / ejabberd.
// Pure functions over the JSON records of bench.mjs (pibake-im) and xmpp-load.mjs (Prosody, ejabberd).
// Self-check against the anchors' own results: node report.mjs --demo DIR_WITH_ANCHOR_JSONL

/** The W1 stop rule of the anchors: delivered >= 0.95·L and p99 <= 1 s. */
export const passes = (r) => r.delivered_rate >= 0.95 * r.L && r.lat_p99_ms <= 1000;

/** Highest load of a ladder that passed the stop rule; without one, the run that delivered most (marked not sustained). */
export function knee(ladder) {
  const ok = ladder.filter(passes).sort((a, b) => b.L - a.L);
  if (ok.length) return { run: ok[0], sustained: true, topOfLadder: ok[0].L === Math.max(...ladder.map((r) => r.L)) };
  const best = [...ladder].sort((a, b) => b.delivered_rate - a.delivered_rate)[0];
  return best ? { run: best, sustained: false, topOfLadder: false } : null;
}

/** Common load: the highest load every server sustained (the lowest of the knees); `fallback` when one sustained none. */
export function pickCommon(ladders, fallback) {
  const ks = ladders.map(knee);
  if (ks.some((k) => !k || !k.sustained)) return fallback;
  return Math.min(...ks.map((k) => k.run.L));
}

const median = (a) => { const s = a.filter((x) => x != null).sort((x, y) => x - y); return s.length ? s[Math.floor(s.length / 2)] : null; };
const sig = (x) => (x == null || !Number.isFinite(x) ? '–' : String(Number(x.toPrecision(3))));
const num = (x, d = 1) => (x == null || !Number.isFinite(x) ? '–' : String(+x.toFixed(d)));
export function bytes(b) {
  if (b == null || !Number.isFinite(b)) return '–';
  return b >= 1e6 ? `${sig(b / 1e6)} MB` : b >= 1e3 ? `${sig(b / 1e3)} kB` : `${Math.round(b)} B`;
}
/** pibake-im ÷ other as "×N" (N times the other's value) or "1/N" (an N-th of it). */
export function ratio(a, b) {
  if (a == null || b == null || !Number.isFinite(a) || !Number.isFinite(b) || a <= 0 || b <= 0) return '–';
  const r = a / b;
  return r >= 1 ? `×${sig(r)}` : `1/${sig(1 / r)}`;
}

/** Idle figures of one server, normalised over the two record shapes (pibake-im: one record; harness: one per client count). */
function idleFigures(name, s) {
  const all = [...s.ladder, ...(s.extra ?? []), ...s.idle];
  const byCount = {};
  for (const r of s.idle) {
    if (r.clients != null && r.rss_connected_idle_mb != null) byCount[r.clients] = r.rss_connected_idle_mb;
    for (const [k, v] of Object.entries(r)) { const m = k.match(/^rss_(\d+)_idle_mb$/); if (m) byCount[m[1]] = v; }
  }
  if (byCount[200] == null) byCount[200] = median(all.map((r) => r.rss_200_idle_mb)); // from the W1 runs
  const starts = all.map((r) => r.startup_to_login_ms).filter((x) => x != null);
  return {
    idle_rss_mb: median(all.map((r) => r.idle_rss_mb)), rss_idle_by_clients_mb: byCount,
    startup_to_login_ms: median(starts), startup_n: starts.length,
    loadgen_cpu_pct_max: Math.max(0, ...all.map((r) => r.loadgen_cpu_pct_max_proc ?? r.loadgen_cpu_pct ?? 0)), // busiest generator process
  };
}

const pick = (r) => r && {
  L: r.L, delivered_rate: r.delivered_rate, lat_p50_ms: r.lat_p50_ms, lat_p95_ms: r.lat_p95_ms, lat_p99_ms: r.lat_p99_ms,
  rss_steady_mb: r.rss_steady_mb, rss_peak_sampled_mb: r.rss_peak_sampled_mb, server_cpu_ms_per_1k_msgs: r.server_cpu_ms_per_1k_msgs,
  write_bytes_per_1k_msgs: r.write_bytes_per_1k_msgs, lost: r.undelivered_after_drain, duplicates: r.duplicates, passes: passes(r),
  loadgen_cpu_pct: r.loadgen_cpu_pct,
};

/**
 * res = { 'pibake-im': {ladder, idle, extra?}, prosody: {...}, ejabberd: {...} } (records as printed by the runs), L = common load.
 * Prints the table (stdout) and returns the summary record { mode: 'compare', ... }.
 */
export function report(res, L, print = console.log) {
  const names = Object.keys(res);
  const S = {};
  for (const n of names) {
    const k = knee(res[n].ladder);
    const atL = [...(res[n].extra ?? []), ...res[n].ladder].find((r) => r.L === L);
    S[n] = { knee: k && { ...pick(k.run), sustained: k.sustained, top_of_ladder: k.topOfLadder }, common: pick(atL), ...idleFigures(n, res[n]) };
  }
  const counts = [...new Set(names.flatMap((n) => Object.keys(S[n].rss_idle_by_clients_mb)))].map(Number).sort((a, b) => a - b);
  const base = names[0], others = names.slice(1);
  const kneeL = (s) => !s.knee ? '–' : s.knee.sustained ? `${s.knee.L}${s.knee.top_of_ladder ? ' (ladder top)' : ''}` : `none (best ${s.knee.L} ✗)`;
  const flag = (x) => (x && !x.passes ? ' ✗' : '');
  const lat = (x) => (x ? `${num(x.lat_p50_ms)} / ${num(x.lat_p95_ms)} / ${num(x.lat_p99_ms)}${flag(x)}` : '–');
  // [label, value(serverSummary) -> string, number(serverSummary) -> number|null for the ratio (null: no ratio)]
  const rows = [
    ['knee: highest L passing (msgs/s)', kneeL, null],
    ['knee: delivered/s', (s) => num(s.knee?.delivered_rate), (s) => s.knee?.delivered_rate],
    ['knee: p50 / p95 / p99 ms', (s) => lat(s.knee), null],
    ['knee: RSS steady / peak MB', (s) => (s.knee ? `${num(s.knee.rss_steady_mb)} / ${num(s.knee.rss_peak_sampled_mb)}` : '–'), null],
    ['knee: CPU ms per 1k msgs', (s) => num(s.knee?.server_cpu_ms_per_1k_msgs, 0), null],
    ['knee: write bytes per 1k msgs', (s) => bytes(s.knee?.write_bytes_per_1k_msgs), null],
    ['knee: lost / duplicated', (s) => (s.knee ? `${s.knee.lost} / ${s.knee.duplicates}` : '–'), null],
    [`L=${L}: delivered/s`, (s) => num(s.common?.delivered_rate) + flag(s.common), (s) => s.common?.delivered_rate],
    [`L=${L}: p50 ms`, (s) => num(s.common?.lat_p50_ms), (s) => s.common?.lat_p50_ms],
    [`L=${L}: p95 ms`, (s) => num(s.common?.lat_p95_ms), (s) => s.common?.lat_p95_ms],
    [`L=${L}: p99 ms`, (s) => num(s.common?.lat_p99_ms), (s) => s.common?.lat_p99_ms],
    [`L=${L}: RSS steady MB`, (s) => num(s.common?.rss_steady_mb), (s) => s.common?.rss_steady_mb],
    [`L=${L}: RSS peak MB`, (s) => num(s.common?.rss_peak_sampled_mb), (s) => s.common?.rss_peak_sampled_mb],
    [`L=${L}: CPU ms per 1k msgs`, (s) => num(s.common?.server_cpu_ms_per_1k_msgs, 0), (s) => s.common?.server_cpu_ms_per_1k_msgs],
    [`L=${L}: write bytes per 1k msgs`, (s) => bytes(s.common?.write_bytes_per_1k_msgs), (s) => s.common?.write_bytes_per_1k_msgs],
    [`L=${L}: lost / duplicated`, (s) => (s.common ? `${s.common.lost} / ${s.common.duplicates}` : '–'), null],
    ['RSS idle after start MB', (s) => num(s.idle_rss_mb), (s) => s.idle_rss_mb],
    ...counts.map((c) => [`RSS ${c.toLocaleString('en')} idle clients MB`, (s) => num(s.rss_idle_by_clients_mb[c]), (s) => s.rss_idle_by_clients_mb[c]]),
    ['start to first login ms (median)', (s) => `${num(s.startup_to_login_ms, 0)} (n=${s.startup_n})`, (s) => s.startup_to_login_ms],
    ['load generator CPU % of its core (max)', (s) => num(s.loadgen_cpu_pct_max), null],
  ];
  const header = ['', ...names, ...others.map((o) => `${base} vs ${o}`)];
  // a ratio involving a run that failed the stop rule is marked ✗ too
  const failed = (label, s) => (label.startsWith('knee') ? s.knee && !s.knee.sustained : label.startsWith('L=') ? s.common && !s.common.passes : false);
  const cell = (label, n, o) => { const r = ratio(n(S[base]), n(S[o])); return r !== '–' && (failed(label, S[base]) || failed(label, S[o])) ? r + ' ✗' : r; };
  const table = rows.map(([label, val, n]) => [label, ...names.map((x) => val(S[x])), ...others.map((o) => (n ? cell(label, n, o) : ''))]);
  const ratios = Object.fromEntries(others.map((o, j) => [o, Object.fromEntries(rows.filter((r) => r[2]).map((r) => [r[0], table[rows.indexOf(r)][1 + names.length + j]]))]));
  const w = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
  const line = (cells) => '| ' + cells.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join(' | ') + ' |';
  print(`\nW1 comparison (server on core 0, generator on core 1; knee = highest load passing delivered >= 0.95·L and p99 <= 1 s; common load L=${L} msgs/s)`);
  print(line(header));
  print('|' + w.map((x, i) => (i === 0 ? '-'.repeat(x + 2) : '-'.repeat(x + 1) + ':')).join('|') + '|');
  for (const r of table) print(line(r));
  print(`ratios = ${base} ÷ other: ×N = N times the other's value, 1/N = an N-th of it (lower is better for latency, RSS, CPU, bytes, start time). ✗ = failed the stop rule.`);
  const gen = names.filter((n) => S[n].loadgen_cpu_pct_max >= 90);
  if (gen.length) print(`WARNING: the load generator used ≥ 90 % of its core in runs of ${gen.join(', ')}: those figures may be generator-limited.`);
  return { mode: 'compare', common_load: L, servers: S, ratios, ts: new Date().toISOString() };
}

// Demo/self-check: rebuild the anchors' comparison from their JSONL files (pibake-im column from a bench results file if given).
if (import.meta.main && process.argv[2] === '--demo') {
  const fs = await import('node:fs');
  const dir = process.argv[3];
  const read = (f) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []);
  const res = {};
  const im = process.argv[4] ? read(process.argv[4]) : [];
  res['pibake-im'] = { ladder: im.filter((r) => r.L != null), idle: im.filter((r) => r.mode === 'idle') };
  for (const s of ['prosody', 'ejabberd']) res[s] = { ladder: read(`${dir}/${s}-w1-pin0-knee.jsonl`), idle: read(`${dir}/${s}-idle-pin0${s === 'ejabberd' ? '-nofile' : ''}.jsonl`) };
  report(res, 50);
}
