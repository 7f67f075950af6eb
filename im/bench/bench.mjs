// Workload W1 (shared/anchors/im/README.md) over the pibake-im protocol: 200 clients = 100 pairs, offered-load ladder,
// latency, RSS, CPU and disk per 1000 messages, loss/duplicates; plus idle RSS with 200/2000 clients and start-to-first-login.
// usage (from im/): npm run bench -- [--loads 500,1000,...|none] [--duration 30] [--warmup 5] [--clients 200] [--idle 200,2000] [--skip-idle] [--out file]
//   [--gen-procs N --gen-cpus 1,2] [--no-compile-cache] [--max-minutes 150]  --compare [--xmpp-loads 50,100,200,300] [--common L] [--compare-work DIR]: also Prosody + ejabberd (compare/).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, cpSync, rmSync, existsSync, appendFileSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { login, ImConnection } from '../src/client.ts';
import { now, connectClients, createGenerator, shareOf } from './w1-gen.mjs';
import { serverDiag } from './server-diag.mjs';
import { openDatabase } from '../src/db.ts';
import { Store } from '../src/store.ts';
import { hashPassword } from '../src/password.ts';

const IM = resolve(import.meta.dirname, '..');
const opt = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) if (argv[i].startsWith('--')) { const k = argv[i].slice(2); opt[k] = argv[i + 1] && !argv[i + 1].startsWith('--') ? argv[++i] : '1'; }
const LOADS = opt.loads === 'none' ? [] : (opt.loads ?? '500,1000,2000,4000,8000,16000').split(',').map(Number); // --loads none: only the idle figures
if (LOADS.some((L) => !(L > 0))) { console.error(`bench: --loads takes offered loads in msgs/s, comma-separated (500,1000), or none; got ${opt.loads}`); process.exit(2); }
const DURATION = Math.min(+(opt.duration ?? 30), 120);
const WARMUP = Math.min(+(opt.warmup ?? 5), 30);
const CLIENTS = Math.min(+(opt.clients ?? 200), 3000);
const IDLE = (opt.idle ?? '200,2000').split(',').map(Number);
const BODY = +(opt.bodybytes ?? 100);
const GEN_PROCS = Math.max(1, Math.min(+(opt['gen-procs'] ?? 1), 16)); // load-generator processes (see runW1)
const GEN_CPUS = String(opt['gen-cpus'] ?? '1').split(',').filter(Boolean); // generator process p runs on core GEN_CPUS[p mod n]
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
  stopWorkers();
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

// ---- the bundle under test (x64 build of exactly what ships), rebuilt every run (~3 s) so it is this checkout's ----
const BUNDLE = join(WORK, 'bundle');
execFileSync(process.execPath, [join(IM, 'scripts/build-bundle.mjs'), '--arch', 'x64', '--out', BUNDLE], { stdio: 'inherit' });

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
let compileCacheWarm = false;
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
  // the V8 code cache lives outside the data dir, as under systemd (CacheDirectory=): warm after the first start
  const env = opt['no-compile-cache'] ? { ...process.env, CACHE_DIRECTORY: '' } : { ...process.env, CACHE_DIRECTORY: join(WORK, 'compile-cache') };
  compileCacheWarm = !opt['no-compile-cache'] && existsSync(join(WORK, 'compile-cache', 'v8'));
  const child = spawn('taskset', ['-c', opt.servercpus ?? '0', join(BUNDLE, 'bin/pibake-im'), '--config', cfg], { stdio: ['ignore', 'inherit', 'inherit'], env });
  server = child;
  // start-to-first-login: HTTP login + WebSocket auth, polled every ~50 ms — answered by this server, not a stray
  // one on the same port (the child must still run)
  let ms = null;
  while (performance.now() - t0 < 90000) {
    if (child.exitCode !== null || child.signalCode !== null) { console.error(`bench: the server exited at start (${child.exitCode ?? child.signalCode}); is port ${PORT} free? (--port N)`); process.exit(1); }
    try {
      const { token } = await login(BASE, 'user1', 'pass');
      const c = await ImConnection.connect(WS, token);
      ms = performance.now() - t0;
      c.close();
      await sleep(20);
      if (child.exitCode !== null || child.signalCode !== null) continue; // a login answered by another server
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

// ---- load generators: in this process (--gen-procs 1, the default) or N worker processes (w1-worker.mjs) ----
// Each generator owns whole pairs (pair j -> generator j mod N), sends their share of L and receives for them;
// all stamps are wall-clock based (w1-gen.mjs `now`), so latencies mean the same with 1 or N processes.
function localGen(args) {
  const g = createGenerator(args);
  let clients = [];
  return {
    async connect() {
      const r = await connectClients(BASE, WS, args.ids, g.onMsg, { log });
      clients = r.clients;
      for (const c of clients) c?.on('error', () => { g.st.errors++; });
      return { failed: r.failed };
    },
    async run(tStart) {
      const c0 = process.cpuUsage();
      await g.send(clients, tStart);
      await g.drain();
      const c = process.cpuUsage(c0);
      return { st: g.st, lat: g.st.lat, cpuS: (c.user + c.system) / 1e6 };
    },
    close() { for (const c of clients) c?.close(); },
  };
}
const workers = new Set();
function workerGen(args, cpus) {
  const child = spawn('taskset', ['-c', cpus, process.execPath, join(IM, 'bench', 'w1-worker.mjs')], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
  workers.add(child);
  child.once('exit', () => workers.delete(child));
  const next = (ev) => new Promise((res, rej) => {
    const onMsg = (m) => { if (m.ev === ev) { done(); res(m); } };
    const onExit = (code, sig) => { done(); rej(new Error(`generator process exited (${sig ?? code}) while waiting for ${ev}`)); };
    const done = () => { child.off('message', onMsg); child.off('exit', onExit); };
    child.on('message', onMsg); child.on('exit', onExit);
  });
  return {
    connect() { child.send({ cmd: 'connect', base: BASE, ws: WS, args }); return next('connected'); },
    run(tStart) { child.send({ cmd: 'start', tStart }); return next('done'); },
    close() { if (child.connected) child.send({ cmd: 'close' }); setTimeout(() => child.kill(), 10000).unref(); },
  };
}
function stopWorkers() { for (const c of workers) c.kill('SIGKILL'); }

async function runW1(L, pairs) {
  const { pid, startup_ms, data } = await startServer();
  await sleep(3000);
  const idle_rss = status(pid).rss;
  const N = CLIENTS;
  const base = { N, L, warmup: WARMUP, duration: DURATION, body: BODY, pairs };
  const gens = GEN_PROCS === 1 ? [localGen({ ...base, ids: shareOf(N, 0, 1) })]
    : Array.from({ length: GEN_PROCS }, (_, p) => workerGen({ ...base, ids: shareOf(N, p, GEN_PROCS) }, GEN_CPUS[p % GEN_CPUS.length]));
  let failed = 0;
  try {
    for (const r of await Promise.all(gens.map((g) => g.connect()))) failed += r.failed;
    await sleep(3000);
    const rss_200_idle = status(pid).rss;
    const samples = [];
    const sampler = setInterval(() => { try { samples.push([now(), status(pid).rss]); } catch {} }, 250);
    try { writeFileSync(`/proc/${pid}/clear_refs`, '5'); } catch {}
    const diag = await serverDiag(BASE, 'user1', 'pass');
    const cpu0 = cpu(pid), io0 = io(pid), disk0 = dirBytes(data), lg0 = process.cpuUsage();
    const tStart = now() + (GEN_PROCS > 1 ? 100 : 0); // workers start together on the shared clock
    const tMeasStart = tStart + WARMUP * 1000, tMeasEnd = tMeasStart + DURATION * 1000;
    log(`L=${L}/s: warmup ${WARMUP}s + ${DURATION}s, ${N} clients (${failed} failed)${GEN_PROCS > 1 ? `, ${GEN_PROCS} generator processes` : ''}`);
    const res = await Promise.all(gens.map((g) => g.run(tStart)));
    clearInterval(sampler);
    const server_diag = await diag.end();
    const sum = (k) => res.reduce((t, r) => t + r.st[k], 0);
    const sent = sum('sent'), sentInWindow = sum('sentInWindow'), recvUnique = sum('recvUnique'), recvInWindow = sum('recvInWindow');
    const tEnd = Math.max(...res.map((r) => r.st.tEnd));
    const cpuS = cpu(pid) - cpu0, wb = io(pid) - io0, growth = dirBytes(data) - disk0, st = status(pid);
    const own = process.cpuUsage(lg0), ownS = (own.user + own.system) / 1e6;
    const genS = GEN_PROCS === 1 ? [ownS] : res.map((r) => r.cpuS);
    const elapsed = (tEnd - tStart) / 1000;
    const latS = Float64Array.from(res.flatMap((r) => Array.from(r.lat))).sort();
    const steady = samples.filter(([t]) => t >= tMeasStart + (DURATION * 500) && t <= tMeasEnd).map(([, r]) => r);
    return {
      server: 'pibake-im', L, clients: N, clients_failed: failed, warmup_s: WARMUP, duration_s: DURATION, body_bytes: BODY,
      startup_to_login_ms: startup_ms, compile_cache_warm: compileCacheWarm, idle_rss_mb: MB(idle_rss), rss_200_idle_mb: MB(rss_200_idle),
      sent_total: sent, offered_rate: +(sentInWindow / DURATION).toFixed(1), delivered_rate: +(recvInWindow / DURATION).toFixed(1),
      backlog_at_send_end: sum('backlog'), undelivered_after_drain: sent - recvUnique, duplicates: sum('dups'), error_frames: sum('errors'),
      lat_p50_ms: +pct(latS, 50)?.toFixed(2), lat_p95_ms: +pct(latS, 95)?.toFixed(2), lat_p99_ms: +pct(latS, 99)?.toFixed(2), lat_max_ms: latS.length ? +latS[latS.length - 1].toFixed(2) : null,
      rss_steady_mb: MB(median(steady)), rss_peak_sampled_mb: MB(Math.max(0, ...samples.map(([, x]) => x))), rss_hwm_since_load_mb: MB(st.hwm),
      server_cpu_pct: +((100 * cpuS) / elapsed).toFixed(1), server_cpu_ms_per_1k_msgs: +((cpuS * 1e6) / sent).toFixed(1),
      write_bytes_per_1k_msgs: Math.round((wb / sent) * 1000), data_dir_growth_per_1k_msgs: Math.round((growth / sent) * 1000),
      // generator CPU in % of one core: all generator processes together, and the busiest one (saturated near 100)
      loadgen_cpu_pct: +((100 * genS.reduce((a, b) => a + b, 0)) / elapsed).toFixed(1), loadgen_procs: GEN_PROCS,
      loadgen_cpu_pct_max_proc: +((100 * Math.max(...genS)) / elapsed).toFixed(1), ...server_diag, ts: new Date().toISOString(),
    };
  } finally {
    for (const g of gens) g.close();
    await stopServer();
  }
}

async function runIdle(counts) {
  const { pid, startup_ms } = await startServer();
  await sleep(3000);
  const res = { server: 'pibake-im', mode: 'idle', startup_to_login_ms: startup_ms, compile_cache_warm: compileCacheWarm, idle_rss_mb: MB(status(pid).rss) };
  let all = [];
  let have = 0;
  for (const n of counts.sort((a, b) => a - b)) {
    const t0 = performance.now();
    const { clients: more } = await connectClients(BASE, WS, Array.from({ length: n - have }, (_, i) => i), null, { first: have, log }); // users have+1..n
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
  const keys = r.mode === 'idle' ? Object.keys(r) : ['server', 'L', 'offered_rate', 'delivered_rate', 'lat_p50_ms', 'lat_p95_ms', 'lat_p99_ms', 'rss_steady_mb', 'rss_peak_sampled_mb', 'server_cpu_ms_per_1k_msgs', 'write_bytes_per_1k_msgs', 'undelivered_after_drain', 'duplicates', 'startup_to_login_ms', 'rss_200_idle_mb', 'loadgen_cpu_pct', 'server_loop_lag_max_ms', 'server_gc_s', 'commits_over_100ms', 'commit_sql_max_le_s'];
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
  stopWorkers();
  await stopServer();
  await compare?.cleanup();
}
