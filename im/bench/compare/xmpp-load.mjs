// XMPP load generator for `bench --compare`: workload W1 against Prosody / ejabberd (vendored shared/anchors/im/bench.mjs).
// Vendored from shared/anchors/im/bench.mjs (the harness behind the anchors' REPORT.md); measurement code unchanged.
// Changes: server profiles moved to servers.mjs (state under $W1_RUN), Node >= 22 global WebSocket (no flag),
// fail fast with the log tail when the server exits before its first login, ignore WebSocket errors after a client
// detached, stop the server on SIGINT/SIGTERM, on an uncaught exception and at the hard time limit, idle results
// also printed on stdout, --out - writes no file.
// Run it pinned to core 1:  W1_RUN=/var/tmp/dir taskset -c 1 node xmpp-load.mjs <mode> [--opts]
// Modes:
//   register --n 2000                       IBR over raw TCP c2s (127.0.0.1:5222) for user1..userN
//   w1 --server prosody --pin 0 --loads 500,1000,2000,4000 --duration 30
//   idle --server prosody --pin 0 --clients 200,2000
// Every loop is bounded in count and time (see LIMITS below).
import { client, xml } from "@xmpp/client";
import net from "node:net";
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { PROFILES, logTail, killLeftovers } from "./servers.mjs";
import { performance } from "node:perf_hooks";

const LIMITS = { maxDuration: 120, maxLoad: 20000, maxClients: 3000, drainMs: 30000, startupMs: 90000, connectMs: 180000 };

// ---------- args ----------
const argv = process.argv.slice(2);
const mode = argv[0];
const opt = {};
for (let i = 1; i < argv.length; i++) {
  if (argv[i].startsWith("--")) { const k = argv[i].slice(2); const v = argv[i + 1] && !argv[i + 1].startsWith("--") ? argv[++i] : "1"; opt[k] = v; }
}
const DOMAIN = opt.domain || "localhost";
const WS_URL = opt.url || "ws://127.0.0.1:5280/xmpp-websocket";
const PASS = opt.pass || "pass";
const CLIENTS = Math.min(+(opt.clients || 200), LIMITS.maxClients);
const DURATION = Math.min(+(opt.duration || 30), LIMITS.maxDuration);
const WARMUP = Math.min(+(opt.warmup || 5), 30);
const BODY_BYTES = +(opt.bodybytes || 100);
const SERVER = opt.server || "prosody";
const PIN = opt.pin ?? "0"; // "0" => taskset -c 0 ; "all" => taskset -c 0,1
const TAG = opt.tag || "";
const OUT = opt.out || path.join(process.env.W1_RUN || ".", "results", `${SERVER}-${mode}-pin${PIN}${TAG ? "-" + TAG : ""}.jsonl`);
const save = (r) => { if (OUT !== "-") fs.appendFileSync(OUT, JSON.stringify(r) + "\n"); };
const SASL = (opt.sasl || "PLAIN").toUpperCase(); // PLAIN (default) or SCRAM-SHA-1; see README (client-side SCRAM in @xmpp/client is pure JS, ~0.5 s CPU per login)
function xclient(username, resource) {
  const params = { service: WS_URL, domain: DOMAIN, resource };
  if (SASL === "PLAIN") params.credentials = (authenticate, mechanisms) => authenticate({ username, password: PASS }, mechanisms.includes("PLAIN") ? "PLAIN" : mechanisms[0]);
  else { params.username = username; params.password = PASS; }
  const x = client(params);
  // Node >= 22's WebSocket fires "error" when a socket closes abnormally after @xmpp/connection has already detached
  // from it (client stopped, then the server goes away): without a listener that would crash the generator.
  x.on("connect", () => x.socket?.on("error", () => {}));
  return x;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.error(new Date().toISOString().slice(11, 23), ...a);

// ---------- /proc helpers ----------
const CLK_TCK = +execFileSync("getconf", ["CLK_TCK"]).toString().trim() || 100;
function procStatus(pid) {
  const s = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const g = (k) => { const m = s.match(new RegExp(`^${k}:\\s+(\\d+)`, "m")); return m ? +m[1] * 1024 : 0; };
  return { rss: g("VmRSS"), hwm: g("VmHWM"), threads: +(s.match(/^Threads:\s+(\d+)/m) || [0, 0])[1] };
}
function procCpu(pid) { // seconds user+sys (all threads of the process)
  const s = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  return (+f[11] + +f[12]) / CLK_TCK;
}
function procCpuSplit(pid) { const s = fs.readFileSync(`/proc/${pid}/stat`, "utf8"); const f = s.slice(s.lastIndexOf(")") + 2).split(" "); return { user: +f[11] / CLK_TCK, sys: +f[12] / CLK_TCK }; }
function procIo(pid) {
  const s = fs.readFileSync(`/proc/${pid}/io`, "utf8");
  const g = (k) => +(s.match(new RegExp(`^${k}:\\s+(\\d+)`, "m")) || [0, 0])[1];
  return { write_bytes: g("write_bytes"), cancelled: g("cancelled_write_bytes"), wchar: g("wchar"), syscw: g("syscw") };
}
function sumPids(pids, fn) { // sum numeric fields over pids
  const acc = {};
  for (const p of pids) { const r = fn(p); for (const [k, v] of Object.entries(typeof r === "number" ? { v: r } : r)) acc[k] = (acc[k] || 0) + v; }
  return acc;
}
function dirBytes(d) {
  let t = 0;
  if (!d || !fs.existsSync(d)) return 0;
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) t += dirBytes(p); else if (e.isFile()) t += fs.statSync(p).size;
  }
  return t;
}
class Sampler { // samples VmRSS of server pids every `ms`
  constructor(pids, ms = 250) { this.pids = pids; this.ms = ms; this.samples = []; this.t = null; }
  start() { this.t = setInterval(() => { try { this.samples.push([performance.now(), sumPids(this.pids, procStatus).rss]); } catch {} }, this.ms); }
  stop() { clearInterval(this.t); }
  between(a, b) { return this.samples.filter(([t]) => t >= a && t <= b).map(([, r]) => r); }
}
const median = (a) => { if (!a.length) return null; const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const pct = (sorted, p) => sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : null;
const MB = (b) => b == null ? null : +(b / 1048576).toFixed(1);

// ---------- XMPP clients ----------
function mkClient(i, resource = "w1") {
  const x = xclient(`user${i}`, resource);
  x.on("error", () => { stats.clientErrors++; });
  x.on("offline", () => { stats.offline++; });
  x.reconnect.stop(); // never reconnect silently; disconnects are counted
  return x;
}
const stats = { clientErrors: 0, offline: 0, errorStanzas: 0 };
async function connectAll(n, onStanza, concurrency = 20) {
  const clients = new Array(n);
  let next = 0, failed = 0;
  const deadline = Date.now() + LIMITS.connectMs;
  async function worker() {
    while (next < n && Date.now() < deadline) {
      const i = next++;
      const x = mkClient(i + 1);
      if (onStanza) x.on("stanza", (s) => onStanza(i, s));
      try {
        await Promise.race([x.start(), sleep(20000).then(() => { throw new Error("login timeout"); })]);
        await x.send(xml("presence"));
        clients[i] = x;
      } catch (e) { failed++; log(`client ${i + 1} failed: ${e.message}`); try { x.stop().catch(() => {}); } catch {} }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { clients, failed };
}
async function stopAll(clients) {
  await Promise.all(clients.filter(Boolean).map((x) => Promise.race([x.stop().catch(() => {}), sleep(5000)])));
}
async function probeLogin(t0, limitMs = LIMITS.startupMs) { // ms from t0 until first successful login
  const deadline = t0 + limitMs;
  let attempts = 0;
  while (performance.now() < deadline) {
    attempts++;
    const x = xclient("user1", "probe");
    x.on("error", () => {});
    x.reconnect.stop();
    try {
      await Promise.race([x.start(), sleep(2000).then(() => { throw new Error("t/o"); })]);
      const ms = performance.now() - t0;
      await Promise.race([x.stop().catch(() => {}), sleep(2000)]);
      return { ms, attempts };
    } catch { try { x.stop().catch(() => {}); } catch {} await sleep(50); }
  }
  return { ms: null, attempts };
}

// ---------- register (IBR over raw TCP) ----------
function registerOne(user, pass) {
  return new Promise((resolve) => {
    const s = net.connect(+(opt.c2sport || 5222), "127.0.0.1");
    let buf = "", sent = false, done = false;
    const fin = (r) => { if (done) return; done = true; clearTimeout(t); try { s.end("</stream:stream>"); } catch {} setTimeout(() => s.destroy(), 200); resolve(r); };
    const t = setTimeout(() => fin("timeout"), 15000);
    s.setEncoding("utf8");
    s.on("error", (e) => fin("error:" + e.message));
    s.on("connect", () => s.write(`<?xml version='1.0'?><stream:stream to='${DOMAIN}' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`));
    s.on("data", (d) => {
      buf += d;
      if (!sent && buf.includes("</stream:features>")) {
        sent = true;
        s.write(`<iq type='set' id='reg1'><query xmlns='jabber:iq:register'><username>${user}</username><password>${pass}</password></query></iq>`);
      }
      const m = buf.match(/<iq\b[^>]*\bid=['"]reg1['"][^>]*>/);
      if (m) {
        if (/type=['"]result['"]/.test(m[0])) fin("ok");
        else if (buf.includes("conflict")) fin("exists");
        else if (buf.includes("</iq>")) fin("error:" + buf.slice(buf.indexOf(m[0]), buf.indexOf(m[0]) + 400));
      }
    });
  });
}
async function doRegister() {
  const n = Math.min(+(opt.n || 2000), LIMITS.maxClients);
  const from = +(opt.from || 1);
  const res = {};
  let next = from;
  const t0 = performance.now();
  async function worker() { while (next < from + n) { const i = next++; const r = await registerOne(`user${i}`, PASS); const k = r.split(":")[0]; res[k] = (res[k] || 0) + 1; if (k === "error" || k === "timeout") log(`user${i}: ${r}`); } }
  await Promise.all(Array.from({ length: +(opt.concurrency || 10) }, worker));
  log("register result", JSON.stringify(res), `in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
  if ((res.ok || 0) + (res.exists || 0) !== n) process.exitCode = 1;
}

// ---------- server lifecycle ----------
async function startServer(prof, cpus) {
  const t0 = performance.now();
  const child = prof.start(cpus);
  let exited = null;
  const exitP = new Promise((res) => child.on("exit", (c, s) => { exited = `code=${c} sig=${s}`; log(`server wrapper exited ${exited}`); res(); }));
  const probe = await Promise.race([probeLogin(t0), exitP.then(() => ({ ms: null }))]);
  if (exited) throw new Error(`${SERVER} failed to start: exited (${exited}) before the first login; ${logTail(SERVER)}`);
  if (probe.ms == null) throw new Error(`${SERVER} failed to start: no login within ${LIMITS.startupMs} ms; ${logTail(SERVER)}`);
  log(`${SERVER} accepted first login after ${probe.ms.toFixed(0)} ms (${probe.attempts} attempts)`);
  const pids = prof.pids();
  if (!pids.length) throw new Error("no server pid found");
  if (prof.afterStart) prof.afterStart(pids, log);
  return { startup_ms: Math.round(probe.ms), pids };
}
function resetHwm(pids) { for (const p of pids) { try { fs.writeFileSync(`/proc/${p}/clear_refs`, "5"); } catch {} } }

// ---------- W1 ----------
async function runW1(prof, L, cpus) {
  prof.reset();
  const { startup_ms, pids } = await startServer(prof, cpus);
  await sleep(3000);
  const idle_rss = sumPids(pids, procStatus).rss;
  const N = CLIENTS;
  const totalPlanned = Math.ceil(L * (WARMUP + DURATION));
  // receive bookkeeping
  const seen = new Uint8Array(N * (Math.ceil(totalPlanned / N) + 2));
  const perClient = Math.ceil(totalPlanned / N) + 2;
  const sendT = new Float64Array(N * perClient).fill(-1);
  const lat = [];
  let recvTotal = 0, recvUnique = 0, dups = 0, recvInWindow = 0, foreign = 0;
  let tMeasStart = Infinity, tMeasEnd = Infinity, tStartG = 0;
  const timeline = new Array(WARMUP + DURATION + Math.ceil(LIMITS.drainMs / 1000) + 2).fill(0); // unique msgs received per second since load start
  const onStanza = (i, s) => {
    if (s.name !== "message") return;
    if (s.attrs.type === "error") { stats.errorStanzas++; return; }
    const body = s.getChildText("body");
    if (!body || !body.startsWith("w1|")) { foreign++; return; }
    const now = performance.now();
    const parts = body.split("|"); // w1|<sender>|<seq>|<ts>|pad
    const snd = +parts[1], seq = +parts[2], ts = +parts[3];
    const k = snd * perClient + seq;
    recvTotal++;
    if (seen[k]) { dups++; return; }
    seen[k] = 1; recvUnique++;
    if (tStartG) { const sec = Math.floor((now - tStartG) / 1000); if (sec >= 0 && sec < timeline.length) timeline[sec]++; }
    if (now >= tMeasStart && now < tMeasEnd) recvInWindow++;
    if (ts >= tMeasStart && ts < tMeasEnd) lat.push(now - ts);
  };
  const { clients, failed } = await connectAll(N, onStanza);
  if (failed) log(`WARNING: ${failed} clients failed to connect`);
  await sleep(3000);
  const rss_200_idle = sumPids(pids, procStatus).rss;
  // load
  const sampler = new Sampler(pids, 250); sampler.start();
  resetHwm(pids);
  const cpuS0 = sumPids(pids, procCpuSplit), cpu0 = sumPids(pids, procCpu).v, io0 = sumPids(pids, procIo), disk0 = dirBytes(prof.dataDir), lg0 = process.cpuUsage();
  const seqs = new Int32Array(N);
  let sent = 0, sentInWindow = 0, sendErrors = 0;
  const tStart = performance.now(); tStartG = tStart;
  tMeasStart = tStart + WARMUP * 1000; tMeasEnd = tMeasStart + DURATION * 1000;
  const pad = "x".repeat(200);
  let rr = 0;
  log(`L=${L} msgs/s: warmup ${WARMUP}s + measure ${DURATION}s, ${N} clients (${failed} failed)`);
  await new Promise((resolve) => {
    const tick = () => {
      const now = performance.now();
      if (now >= tMeasEnd) return resolve();
      const due = Math.min(totalPlanned, Math.floor(((now - tStart) / 1000) * L));
      let guard = 0;
      while (sent < due && guard++ < 5000) {
        const i = rr; rr = (rr + 1) % N;
        const x = clients[i];
        const partner = i ^ 1;
        if (!x || !clients[partner] || seqs[i] >= perClient - 1) continue;
        const seq = seqs[i]++;
        const ts = performance.now();
        let body = `w1|${i}|${seq}|${ts.toFixed(3)}|`;
        body += pad.slice(0, Math.max(0, BODY_BYTES - body.length));
        x.send(xml("message", { to: `user${partner + 1}@${DOMAIN}`, type: "chat", id: `${i}-${seq}` }, xml("body", {}, body))).catch(() => { sendErrors++; });
        sent++;
        if (ts >= tMeasStart) sentInWindow++;
      }
      setTimeout(tick, 2);
    };
    tick();
  });
  const recvAtEnd = recvUnique;
  const tSendEnd = performance.now();
  // drain
  let lastProgress = performance.now(), lastCount = recvUnique;
  while (recvUnique < sent && performance.now() - tSendEnd < LIMITS.drainMs) {
    await sleep(100);
    if (recvUnique !== lastCount) { lastCount = recvUnique; lastProgress = performance.now(); }
    else if (performance.now() - lastProgress > 10000) break;
  }
  const tDrainEnd = performance.now();
  const cpuS1 = sumPids(pids, procCpuSplit), cpu1 = sumPids(pids, procCpu).v, io1 = sumPids(pids, procIo), disk1 = dirBytes(prof.dataDir), lg1 = process.cpuUsage(lg0);
  const st = sumPids(pids, procStatus);
  sampler.stop();
  const latS = Float64Array.from(lat).sort();
  const elapsed = (tDrainEnd - tStart) / 1000;
  const steady = sampler.between(tMeasStart + (DURATION * 1000) / 2, tMeasEnd);
  const peakSample = Math.max(0, ...sampler.samples.map(([, r]) => r));
  const r = {
    server: SERVER, cpus, L, sasl: SASL, warmup_s: WARMUP, duration_s: DURATION, clients: N, clients_failed: failed, body_bytes: BODY_BYTES,
    startup_to_login_ms: startup_ms, idle_rss_mb: MB(idle_rss), rss_200_idle_mb: MB(rss_200_idle),
    sent_total: sent, sent_in_window: sentInWindow, offered_rate: +(sentInWindow / DURATION).toFixed(1),
    delivered_rate: +(recvInWindow / DURATION).toFixed(1),
    backlog_at_send_end: sent - recvAtEnd, drain_s: +((tDrainEnd - tSendEnd) / 1000).toFixed(2),
    received_unique: recvUnique, undelivered_after_drain: sent - recvUnique, duplicates: dups, error_stanzas: stats.errorStanzas, foreign_msgs: foreign,
    send_errors: sendErrors, client_errors: stats.clientErrors, client_offline: stats.offline,
    lat_n: latS.length,
    lat_p50_ms: +pct(latS, 50)?.toFixed(2), lat_p95_ms: +pct(latS, 95)?.toFixed(2), lat_p99_ms: +pct(latS, 99)?.toFixed(2), lat_max_ms: latS.length ? +latS[latS.length - 1].toFixed(2) : null,
    rss_steady_mb: MB(median(steady)), rss_peak_sampled_mb: MB(peakSample), rss_hwm_since_load_mb: MB(st.hwm),
    server_threads: st.threads,
    server_cpu_s: +(cpu1 - cpu0).toFixed(2), server_cpu_user_s: +(cpuS1.user - cpuS0.user).toFixed(2), server_cpu_sys_s: +(cpuS1.sys - cpuS0.sys).toFixed(2), server_cpu_pct: +((100 * (cpu1 - cpu0)) / elapsed).toFixed(1),
    server_cpu_ms_per_1k_msgs: +((1000 * (cpu1 - cpu0)) / sent * 1000).toFixed(1),
    write_bytes: io1.write_bytes - io0.write_bytes, cancelled_write_bytes: io1.cancelled - io0.cancelled,
    write_bytes_per_1k_msgs: Math.round(((io1.write_bytes - io0.write_bytes) / sent) * 1000),
    write_syscalls_per_msg: +((io1.syscw - io0.syscw) / sent).toFixed(2),
    data_dir_growth_per_1k_msgs: Math.round(((disk1 - disk0) / sent) * 1000),
    load_window_s: +elapsed.toFixed(2),
    loadgen_cpu_pct: +((100 * (lg1.user + lg1.system)) / 1e6 / elapsed).toFixed(1),
    recv_per_s: timeline.slice(0, Math.ceil(elapsed) + 1),
    ts: new Date().toISOString(),
  };
  await stopAll(clients);
  await prof.stop();
  return r;
}

async function runIdle(prof, counts, cpus) {
  const out = [];
  for (const n of counts) {
    prof.reset();
    const { startup_ms, pids } = await startServer(prof, cpus);
    await sleep(3000);
    const idle = sumPids(pids, procStatus).rss;
    const t0 = performance.now();
    const { clients, failed } = await connectAll(Math.min(n, LIMITS.maxClients), null, 20);
    const connect_s = (performance.now() - t0) / 1000;
    await sleep(5000);
    const st = sumPids(pids, procStatus);
    const r = { server: SERVER, cpus, mode: "idle", clients: n, clients_failed: failed, startup_to_login_ms: startup_ms, idle_rss_mb: MB(idle),
      rss_connected_idle_mb: MB(st.rss), rss_per_conn_kb: +((st.rss - idle) / 1024 / (n - failed)).toFixed(1), login_rate_per_s: +((n - failed) / connect_s).toFixed(1),
      server_threads: st.threads, ts: new Date().toISOString() };
    console.log(JSON.stringify(r)); out.push(r);
    save(r);
    await stopAll(clients);
    await prof.stop();
    await sleep(1000);
  }
  return out;
}

// ---------- main ----------
const prof = PROFILES[SERVER];
const cpus = PIN === "all" ? "0,1" : PIN;
let stopping = false;
async function abort(why, code) { // stop the server we started (bounded), sweep leftovers of this work dir, exit
  if (stopping) return; stopping = true;
  log(why + "; stopping the server");
  const force = setTimeout(() => process.exit(code), 90000); force.unref();
  try { await prof?.stop(); } catch {}
  await killLeftovers().catch(() => {});
  process.exit(code);
}
const hardStop = setTimeout(() => abort("HARD TIME LIMIT reached", 3), +(opt.maxminutes || 30) * 60000);
hardStop.unref();
process.on("SIGINT", () => abort("SIGINT", 130));
process.on("SIGTERM", () => abort("SIGTERM", 143));
process.on("uncaughtException", (e) => { log("FAILED (uncaught):", e?.stack || e); abort("uncaught exception", 1); });
try {
  if (mode === "register") await doRegister();
  else if (mode === "w1") {
    if (OUT !== "-") fs.mkdirSync(path.dirname(OUT), { recursive: true });
    const loads = (opt.loads || "500,1000,2000,4000").split(",").map(Number).filter((x) => x > 0 && x <= LIMITS.maxLoad);
    for (const L of loads) {
      Object.assign(stats, { clientErrors: 0, offline: 0, errorStanzas: 0 });
      const r = await runW1(prof, L, cpus);
      console.log(JSON.stringify(r));
      save(r);
      const behind = r.delivered_rate < 0.95 * L, slow = r.lat_p99_ms > 1000;
      if (behind || slow) { log(`stop rule hit at L=${L} (behind=${behind}, p99>1s=${slow}); not raising further`); break; }
      await sleep(1000);
    }
  } else if (mode === "idle") {
    if (OUT !== "-") fs.mkdirSync(path.dirname(OUT), { recursive: true });
    await runIdle(prof, (opt.clients || "200,2000").split(",").map(Number), cpus);
  } else { console.error("usage: see README.md"); process.exitCode = 2; }
} catch (e) {
  log("FAILED:", e.message.includes("failed to start") ? e.message : e.stack || e.message);
  try { await prof?.stop(); } catch {}
  await killLeftovers().catch(() => {});
  process.exitCode = 1;
}
process.exit();
