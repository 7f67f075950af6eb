// Prosody / ejabberd instances for `bench --compare`: start, stop, reset, log tails, leftover sweep (profiles from shared/anchors/im/bench.mjs).
// All state lives under the work dir $W1_RUN (configs rendered there by prosody/prosodyctl.sh and ejabberd/ejabberdctl.sh);
// the Debian service instances, their configs and data are never used.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const HERE = import.meta.dirname;
export const PORTS = [5222, 5280]; // c2s (registration only) and HTTP/WebSocket, both servers, 127.0.0.1
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };
const runDir = (name) => path.join(process.env.W1_RUN ?? '', name);

/** Main log file(s) of a server instance: where to look when it fails. */
export function logPaths(name) {
  return name === 'prosody'
    ? [path.join(runDir('prosody'), 'prosody.err'), path.join(runDir('prosody'), 'prosody.log')]
    : [path.join(runDir('ejabberd'), 'logs', 'error.log'), path.join(runDir('ejabberd'), 'logs', 'ejabberd.log')];
}
/** "log: PATH" plus its last lines (first existing non-empty log of the server), for one-line errors. */
export function logTail(name, lines = 12) {
  for (const p of logPaths(name)) {
    let s = '';
    try { s = fs.readFileSync(p, 'utf8'); } catch { continue; }
    if (!s.trim()) continue;
    return `log: ${p}\n` + s.trimEnd().split('\n').slice(-lines).map((l) => '    ' + l.slice(0, 300)).join('\n');
  }
  return `log: ${logPaths(name)[0]} (empty or missing)`;
}

/** Pids of server processes started from this work dir (their command lines name it), e.g. after a crash of the harness. */
export function leftovers(work = process.env.W1_RUN) {
  if (!work) return [];
  const out = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || +d === process.pid) continue;
    let cmd = '';
    try { cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').replaceAll('\0', ' '); } catch { continue; }
    const comm = cmd.split(' ')[0];
    if (cmd.includes(`${work}/prosody/prosody.cfg.lua`) && /(prosody|lua)/.test(comm)) out.push({ pid: +d, cmd });
    else if (cmd.includes(`${work}/ejabberd/`) && /beam/.test(comm)) out.push({ pid: +d, cmd });
  }
  return out;
}
/** SIGTERM, then SIGKILL after `graceMs`, the leftover server processes of this work dir (by pid). */
export async function killLeftovers(work = process.env.W1_RUN, graceMs = 10000) {
  const left = leftovers(work);
  for (const { pid } of left) { try { process.kill(pid, 'SIGTERM'); } catch {} }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && left.some(({ pid }) => alive(pid))) await sleep(100);
  for (const { pid } of left) if (alive(pid)) { try { process.kill(pid, 'SIGKILL'); } catch {} }
  return left;
}

async function killWait(pid, child) {
  try { process.kill(pid, 'SIGTERM'); } catch { return; }
  const deadline = Date.now() + 20000;
  while (Date.now() < deadline) { if (child.exitCode !== null || child.signalCode !== null) return; await sleep(100); }
  try { process.kill(pid, 'SIGKILL'); } catch {}
}

// Each profile: reset() (fresh data dir from the 2,000-account template), start(cpus) -> child, pids() -> [pid], stop(), dataDir.
export const PROFILES = {
  prosody: {
    get runDir() { return runDir('prosody'); },
    get dataDir() { return path.join(this.runDir, 'data'); },
    reset() { execFileSync('bash', [path.join(HERE, 'prosody', 'prosodyctl.sh'), 'reset'], { stdio: 'inherit' }); },
    start(cpus) {
      const cfg = path.join(this.runDir, 'prosody.cfg.lua');
      this.child = spawn('taskset', ['-c', cpus, 'prosody', '--config', cfg, '-F'], { stdio: ['ignore', 'ignore', 'inherit'] });
      return this.child;
    },
    pids() { return [this.child.pid]; }, // taskset execs prosody (lua5.4) in place
    async stop() { if (this.child) await killWait(this.child.pid, this.child); },
  },
  ejabberd: {
    get runDir() { return runDir('ejabberd'); },
    get dataDir() { return path.join(this.runDir, 'database'); },
    reset() { execFileSync('bash', [path.join(HERE, 'ejabberd', 'ejabberdctl.sh'), 'reset'], { stdio: 'inherit' }); },
    start(cpus) {
      // console output duplicates $W1_RUN/ejabberd/logs/ejabberd.log
      this.child = spawn('taskset', ['-c', cpus, 'bash', path.join(HERE, 'ejabberd', 'ejabberdctl.sh'), 'foreground'], { stdio: ['ignore', 'ignore', 'ignore'], detached: true });
      this._beam = null;
      return this.child;
    },
    // fd limit of the beam (started via setpriv, not su/PAM, see ejabberd/ejabberdctl.sh), logged for the record
    afterStart(pids, log) { for (const p of pids) log('ejabberd beam', fs.readFileSync(`/proc/${p}/limits`, 'utf8').match(/Max open files.*$/m)[0]); },
    pids() { // the beam.smp process of our node
      if (this._beam && alive(this._beam)) return [this._beam];
      const beam = leftovers().find((l) => l.cmd.includes('ejabberd_w1cmp'));
      if (beam) this._beam = beam.pid;
      return beam ? [beam.pid] : [];
    },
    async stop() {
      if (!this.child) return;
      try { execFileSync('bash', [path.join(HERE, 'ejabberd', 'ejabberdctl.sh'), 'stop'], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 60000 }); } catch {}
      this.pids();
      const deadline = Date.now() + 30000;
      while (Date.now() < deadline && this._beam && alive(this._beam)) await sleep(200);
      if (this._beam && alive(this._beam)) { try { process.kill(this._beam, 'SIGKILL'); } catch {} }
      try { process.kill(-this.child.pid, 'SIGTERM'); } catch {}
      this.child = null;
    },
  },
};
