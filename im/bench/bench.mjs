// Workload W1 (shared/anchors/im/README.md) over the pibake-im protocol: 200 clients = 100 pairs, offered-load ladder,
// latency, RSS, CPU and disk per 1000 messages, loss/duplicates; plus idle RSS with 200/2000 clients and start-to-first-login.
// usage (from im/): npm run bench -- [--loads 500,1000,...] [--duration 30] [--warmup 5] [--clients 200] [--idle 200,2000] [--skip-idle] [--out file]
//   [--max-minutes 150]  --compare [--xmpp-loads 50,100,200,300] [--common L] [--compare-work DIR]: also Prosody + ejabberd (compare/).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, cpSync, rmSync, existsSync, appendFileSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { login, ImConnection } from '../src/client.ts';
import { openDatabase } from '../src/db.ts';
import { Store } from '../src/store.ts';
import { hashPassword } from '../src/password.ts';

const IM = resolve(import.meta.dirname, '..');
const opt = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) if (argv[i].startsWith('--')) { const k = argv[i].slice(2); opt[k] = argv[i + 1] && !argv[i + 1].startsWith('--') ? argv[++i] : '1'; }
const LOADS = (opt.loads ?? '500,1000,2000,4000,8000,16000').split(',').map(Number);
const DURATION = Math.min(+(opt.duration ?? 30), 120);
const WARMUP = Math.min(+(opt.warmup ?? 5), 30);
const CLIENTS = Math.min(+(opt.clients ?? 200), 3000);
const IDLE = (opt.idle ?? '200,2000').split(',').map(Number);
const BODY = +(opt.bodybytes ?? 100);
const ACCOUNTS = 2000;
const PORT = +(opt.port ?? 18123);
const BASE = `http://127.0.0.1:${PORT}`, WS = `ws://127.0.0.1:${PORT}/ws`;
const WORK = opt.work ?? mkdtempSync(join(opt.tmp ?? '/var/tmp', 'pibake-im-bench-'));
const OUT = opt.out ?? join(IM, 'bench', 'results', `w1-${new Date().toISOString().slice(0, 19).replace(/[:]/g, '')}.jsonl`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.error(new Date().toISOString().slice(11, 23), ...a);
// --compare: Prosody and ejabberd through the vendored anchor harness (compare/); prerequisites first, to fail fast
const compare = opt.compare ? (await import('./compare/compare.mjs')).createCompare(opt, log) : null;
let stopping = false;
async function shutdown(why, code) {
  if (stopping) return; stopping = true;
  log(`${why}: stopping the servers`);
  setTimeout(() => process.exit(code), 150000).unref();
  await compare?.abort();
  await stopServer();
  process.exit(code);
}
for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]]) process.on(sig, () => shutdown(sig, code));
setTimeout(() => shutdown(`time limit (--max-minutes ${opt['max-minutes'] ?? 150})`, 124), +(opt['max-minutes'] ?? 150) * 60000).unref();
if (compare) {
  try { await compare.prepare(); } catch (e) { if (e?.constructor?.name !== 'CompareError') throw e; console.error(e.message); process.exit(1); }
}
const MB = (b) => (b == null ? null : +(b / 1048576).toFixed(1));
const pct = (s, p) => (s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : null);
const median = (a) => { if (!a.length) return null; const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const CLK = +execFileSync('getconf', ['CLK_TCK']).toString().trim() || 100;
const status = (pid) => { const s = readFileSync(`/proc/${pid}/status`, 'utf8'); const g = (k) => +(s.match(new RegExp(`^${k}:\\s+(\\d+)`, 'm')) ?? [0, 0])[1] * 1024; return { rss: g('VmRSS'), hwm: g('VmHWM') }; };
const cpu = (pid) => { const s = readFileSync(`/proc/${pid}/stat`, 'utf8'); const f = s.slice(s.lastIndexOf(')') + 2).split(' '); return (+f[11] + +f[12]) / CLK; };
const io = (pid) => { const s = readFileSync(`/proc/${pid}/io`, 'utf8'); return +(s.match(/^write_bytes:\s+(\d+)/m) ?? [0, 0])[1]; };
const dirBytes = (d) => readdirSync(d).reduce((t, f) => { const p = join(d, f); const st = statSync(p); return t + (st.isDirectory() ? dirBytes(p) : st.size); }, 0);

// ---- the bundle under test (x64 build of exactly what ships) ----
const BUNDLE = join(WORK, 'bundle');
if (!existsSync(join(BUNDLE, 'bin/pibake-im'))) {
  execFileSync(process.execPath, [join(IM, 'scripts/build-bundle.mjs'), '--arch', 'x64', '--out', BUNDLE], { stdio: 'inherit' });
}

// ---- template data dir: 2000 accounts (password "pass"), one direct conversation per pair ----
const TEMPLATE = join(WORK, 'template');
async function makeTemplate() {
  if (existsSync(join(TEMPLATE, 'pibake-im.db'))) return JSON.parse(readFileSync(join(TEMPLATE, 'pairs.json'), 'utf8'));
  const db = openDatabase(TEMPLATE);
  const store = new Store(db);
  const hash = await hashPassword('pass'); // same salt for all bench accounts: only to build the template fast
  const ids = [];
  db.transaction(() => { for (let i = 1; i <= ACCOUNTS; i++) ids.push(store.addUser(`user${i}`, hash, i === 1)); })();
  const convs = [];
  db.transaction(() => { for (let i = 0; i + 1 < ACCOUNTS; i += 2) convs.push(store.directConv(ids[i], ids[i + 1]).conv.id); })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  writeFileSync(join(TEMPLATE, 'pairs.json'), JSON.stringify(convs));
  return convs;
}

let server = null;
async function startServer() {
  const data = join(WORK, 'data');
  rmSync(data, { recursive: true, force: true });
  cpSync(TEMPLATE, data, { recursive: true });
  const cfg = join(WORK, 'config.yaml');
  writeFileSync(cfg, [
    `listen: { address: 127.0.0.1, port: ${PORT} }`, `data_dir: ${data}`, `log_dir: ${join(WORK, 'log')}`,
    'logging: { level: warn }', `threading: { max_threads: ${opt.threads ?? 4} }`,
    'limits: { max_connections: 5000, messages_per_second: 2000, message_burst: 4000, max_buffered_bytes: 16777216 }', '',
  ].join('\n'));
  const t0 = performance.now();
  const child = spawn('taskset', ['-c', opt.servercpus ?? '0', join(BUNDLE, 'bin/pibake-im'), '--config', cfg], { stdio: ['ignore', 'inherit', 'inherit'] });
  server = child;
  // start-to-first-login: HTTP login + WebSocket auth, polled every ~50 ms
  let ms = null;
  while (performance.now() - t0 < 90000) {
    try {
      const { token } = await login(BASE, 'user1', 'pass');
      const c = await ImConnection.connect(WS, token);
      ms = performance.now() - t0;
      c.close();
      break;
    } catch { await sleep(50); }
  }
  if (ms == null) throw new Error('server did not accept a login within 90 s');
  // taskset execs sh, which execs node: the pid stays the same
  return { pid: child.pid, startup_ms: Math.round(ms), data };
}
async function stopServer() {
  if (!server) return;
  const s = server; server = null;
  if (s.exitCode !== null) return;
  await new Promise((r) => { s.once('exit', r); s.kill('SIGTERM'); setTimeout(() => { try { s.kill('SIGKILL'); } catch {} }, 20000); });
}

async function connectClients(n, onMsg, concurrency = 20, first = 0) {
  const clients = new Array(n);
  let next = 0, failed = 0;
  async function worker() {
    while (next < n) {
      const i = next++;
      try {
        const { token } = await login(BASE, `user${first + i + 1}`, 'pass');
        clients[i] = await ImConnection.connect(WS, token, { setup: (c) => onMsg && c.on('msg', (m) => onMsg(i, m)) });
      } catch (e) { failed++; log(`client ${i + 1}: ${e.message}`); }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { clients, failed };
}

async function runW1(L, pairs) {
  const { pid, startup_ms, data } = await startServer();
  await sleep(3000);
  const idle_rss = status(pid).rss;
  const N = CLIENTS;
  const perClient = Math.ceil((L * (WARMUP + DURATION)) / N) + 2;
  const seen = new Uint8Array(N * perClient);
  const lat = [];
  let recvUnique = 0, dups = 0, recvInWindow = 0, errors = 0;
  let tMeasStart = Infinity, tMeasEnd = Infinity;
  const onMsg = (_i, m) => {
    const now = performance.now();
    const p = m.body.split('|');
    const k = +p[1] * perClient + +p[2];
    const ts = +p[3];
    if (seen[k]) { dups++; return; }
    seen[k] = 1; recvUnique++;
    if (now >= tMeasStart && now < tMeasEnd) recvInWindow++;
    if (ts >= tMeasStart && ts < tMeasEnd) lat.push(now - ts);
  };
  const { clients, failed } = await connectClients(N, onMsg);
  for (const c of clients) c?.on('error', () => { errors++; });
  await sleep(3000);
  const rss_200_idle = status(pid).rss;
  const samples = [];
  const sampler = setInterval(() => { try { samples.push([performance.now(), status(pid).rss]); } catch {} }, 250);
  try { writeFileSync(`/proc/${pid}/clear_refs`, '5'); } catch {}
  const cpu0 = cpu(pid), io0 = io(pid), disk0 = dirBytes(data), lg0 = process.cpuUsage();
  const seqs = new Int32Array(N);
  let sent = 0, sentInWindow = 0, rr = 0;
  const tStart = performance.now();
  tMeasStart = tStart + WARMUP * 1000; tMeasEnd = tMeasStart + DURATION * 1000;
  const total = Math.ceil(L * (WARMUP + DURATION));
  log(`L=${L}/s: warmup ${WARMUP}s + ${DURATION}s, ${N} clients (${failed} failed)`);
  await new Promise((res) => {
    const tick = () => {
      const now = performance.now();
      if (now >= tMeasEnd) return res();
      const due = Math.min(total, Math.floor(((now - tStart) / 1000) * L));
      let guard = 0;
      while (sent < due && guard++ < 5000) {
        const i = rr; rr = (rr + 1) % N;
        const c = clients[i];
        if (!c || !clients[i ^ 1] || seqs[i] >= perClient - 1) continue;
        const seq = seqs[i]++;
        const ts = performance.now();
        let body = `w1|${i}|${seq}|${ts.toFixed(3)}|`;
        body += 'x'.repeat(Math.max(0, BODY - body.length));
        c.post({ type: 'send', conv: pairs[i >> 1], client_id: `${i}-${seq}`, body });
        sent++;
        if (ts >= tMeasStart) sentInWindow++;
      }
      setTimeout(tick, 2);
    };
    tick();
  });
  const tSendEnd = performance.now();
  const backlog = sent - recvUnique;
  let last = recvUnique, lastT = performance.now();
  while (recvUnique < sent && performance.now() - tSendEnd < 30000) {
    await sleep(100);
    if (recvUnique !== last) { last = recvUnique; lastT = performance.now(); } else if (performance.now() - lastT > 10000) break;
  }
  const tEnd = performance.now();
  clearInterval(sampler);
  const cpuS = cpu(pid) - cpu0, wb = io(pid) - io0, growth = dirBytes(data) - disk0, lg = process.cpuUsage(lg0), st = status(pid);
  const elapsed = (tEnd - tStart) / 1000;
  const latS = Float64Array.from(lat).sort();
  const steady = samples.filter(([t]) => t >= tMeasStart + (DURATION * 500) && t <= tMeasEnd).map(([, r]) => r);
  const r = {
    server: 'pibake-im', L, clients: N, clients_failed: failed, warmup_s: WARMUP, duration_s: DURATION, body_bytes: BODY,
    startup_to_login_ms: startup_ms, idle_rss_mb: MB(idle_rss), rss_200_idle_mb: MB(rss_200_idle),
    sent_total: sent, offered_rate: +(sentInWindow / DURATION).toFixed(1), delivered_rate: +(recvInWindow / DURATION).toFixed(1),
    backlog_at_send_end: backlog, undelivered_after_drain: sent - recvUnique, duplicates: dups, error_frames: errors,
    lat_p50_ms: +pct(latS, 50)?.toFixed(2), lat_p95_ms: +pct(latS, 95)?.toFixed(2), lat_p99_ms: +pct(latS, 99)?.toFixed(2), lat_max_ms: latS.length ? +latS[latS.length - 1].toFixed(2) : null,
    rss_steady_mb: MB(median(steady)), rss_peak_sampled_mb: MB(Math.max(0, ...samples.map(([, x]) => x))), rss_hwm_since_load_mb: MB(st.hwm),
    server_cpu_pct: +((100 * cpuS) / elapsed).toFixed(1), server_cpu_ms_per_1k_msgs: +((cpuS * 1e6) / sent).toFixed(1),
    write_bytes_per_1k_msgs: Math.round((wb / sent) * 1000), data_dir_growth_per_1k_msgs: Math.round((growth / sent) * 1000),
    loadgen_cpu_pct: +((100 * (lg.user + lg.system)) / 1e6 / elapsed).toFixed(1), ts: new Date().toISOString(),
  };
  for (const c of clients) c?.close();
  await stopServer();
  return r;
}

async function runIdle(counts) {
  const { pid, startup_ms } = await startServer();
  await sleep(3000);
  const res = { mode: 'idle', startup_to_login_ms: startup_ms, idle_rss_mb: MB(status(pid).rss) };
  let all = [];
  let have = 0;
  for (const n of counts.sort((a, b) => a - b)) {
    const t0 = performance.now();
    const { clients: more } = await connectClients(n - have, null, 20, have); // users have+1..n
    all = all.concat(more);
    have = n;
    const loginRate = (more.length / ((performance.now() - t0) / 1000)).toFixed(1);
    await sleep(3000);
    res[`rss_${n}_idle_mb`] = MB(status(pid).rss);
    res[`login_rate_${n}`] = +loginRate;
    log(`${n} idle clients: RSS ${res[`rss_${n}_idle_mb`]} MB`);
  }
  for (const c of all) c?.close();
  await stopServer();
  return res;
}

function emit(r) {
  mkdirSync(join(IM, 'bench', 'results'), { recursive: true });
  appendFileSync(OUT, JSON.stringify(r) + '\n');
  if (r.mode === 'compare') return; // its table is printed by compare/report.mjs
  const keys = r.mode === 'idle' ? Object.keys(r) : ['server', 'L', 'offered_rate', 'delivered_rate', 'lat_p50_ms', 'lat_p95_ms', 'lat_p99_ms', 'rss_steady_mb', 'rss_peak_sampled_mb', 'server_cpu_ms_per_1k_msgs', 'write_bytes_per_1k_msgs', 'undelivered_after_drain', 'duplicates', 'startup_to_login_ms', 'rss_200_idle_mb', 'loadgen_cpu_pct'];
  console.log(keys.map((k) => `${k}=${r[k]}`).join(' '));
}

try {
  const pairs = await makeTemplate();
  const ladder = [];
  for (const L of LOADS) {
    const r = await runW1(L, pairs);
    emit(r); ladder.push(r);
    if (r.delivered_rate < 0.95 * L || r.lat_p99_ms > 1000) { log(`L=${L} failed the stop rule; ladder ends`); break; }
  }
  let idle = null;
  if (!opt['skip-idle']) emit(idle = await runIdle(IDLE));
  if (compare) {
    const runAt = async (L) => { const r = await runW1(L, pairs); emit(r); return r; };
    emit(await compare.run({ ladder, idle: idle ? [idle] : [], runAt }, emit));
  }
  log(`results appended to ${OUT}`);
} catch (e) {
  if (e?.constructor?.name !== 'CompareError') throw e;
  console.error(e.message);
  process.exitCode = 1;
} finally {
  await stopServer();
  await compare?.cleanup();
}
