// Prerequisites of `bench --compare`: root, Debian packages (install-servers.sh), @xmpp/client (npm ci), free ports, 2,000-account templates.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { HERE, PORTS } from './servers.mjs';

export const PACKAGES = ['prosody', 'lua-dbi-sqlite3', 'sqlite3', 'ejabberd', 'erlang-p1-sqlite3'];
const CTL = { prosody: 'prosody/prosodyctl.sh', ejabberd: 'ejabberd/ejabberdctl.sh' };
const TEMPLATE_INPUTS = { prosody: ['prosody/prosody.cfg.lua.in', CTL.prosody], ejabberd: ['ejabberd/ejabberd.yml.in', 'ejabberd/ejabberdctl.cfg.in', CTL.ejabberd] };

/** Error whose message is meant to be printed as is (one line, plus an optional log tail). */
export class CompareError extends Error {}

function pkgVersion(p) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${db:Status-Status} ${Version}', p], { encoding: 'utf8' });
  const [st, v] = (r.stdout ?? '').split(' ');
  return r.status === 0 && st === 'installed' ? v : null;
}
export const versions = () => Object.fromEntries(['prosody', 'ejabberd', 'lua5.4', 'erlang-base', 'libsqlite3-0'].map((p) => [p, pkgVersion(p)]));

function tail(file, n = 15) {
  try { return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).map((l) => '    ' + l).join('\n'); } catch { return ''; }
}
/** Run a step with its output in `logFile`; on failure a CompareError naming the log and showing its tail. */
function step(what, cmd, args, { logFile, cwd, env, timeoutMs }) {
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const fd = fs.openSync(logFile, 'w');
  const r = spawnSync(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', fd, fd], timeout: timeoutMs, killSignal: 'SIGTERM' });
  fs.closeSync(fd);
  if (r.status !== 0) {
    const why = r.error ? r.error.message : r.signal ? `killed by ${r.signal}${r.signal === 'SIGTERM' ? ' (time limit)' : ''}` : `exit code ${r.status}`;
    throw new CompareError(`${what} failed (${why}); log: ${logFile}\n${tail(logFile)}`);
  }
}

function portInUse(port) {
  return new Promise((res) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); res(true); });
    s.once('error', () => res(false));
    s.setTimeout(2000, () => { s.destroy(); res(true); });
  });
}
export async function checkPorts() {
  for (const p of PORTS) if (await portInUse(p)) throw new CompareError(`--compare: 127.0.0.1:${p} is already in use (another XMPP server running?); stop it first`);
}

function templateStamp(server) {
  const h = createHash('sha256');
  for (const f of TEMPLATE_INPUTS[server]) h.update(fs.readFileSync(path.join(HERE, f)));
  return JSON.stringify({ version: pkgVersion(server), inputs: h.digest('hex').slice(0, 16), accounts: 2000 });
}
const templateReady = (server, work) => {
  const dir = path.join(work, server);
  const tpl = server === 'prosody' ? path.join(dir, 'data.template') : path.join(dir, 'database.template');
  try { return fs.existsSync(tpl) && fs.readFileSync(path.join(dir, 'template.stamp'), 'utf8') === templateStamp(server); } catch { return false; }
};

/** Everything --compare needs before the first run; installs what is missing. `log` prints one line. */
export async function prepare(work, log) {
  if (process.getuid?.() !== 0) throw new CompareError('--compare must run as root (apt-get install, setpriv to the ejabberd user, /proc of the servers)');
  for (const c of ['taskset', 'setpriv', 'dpkg-query']) {
    if (spawnSync('sh', ['-c', `command -v ${c}`]).status !== 0) throw new CompareError(`--compare: '${c}' not found (needs a Debian host with util-linux)`);
  }
  const missing = PACKAGES.filter((p) => !pkgVersion(p));
  if (missing.length) {
    log(`compare: installing Debian packages ${missing.join(' ')} (bench/compare/install-servers.sh; services stay disabled)`);
    step('install-servers.sh', 'bash', [path.join(HERE, 'install-servers.sh')], { logFile: path.join(work, 'logs', 'install-servers.log'), timeoutMs: 20 * 60000 });
    const still = PACKAGES.filter((p) => !pkgVersion(p));
    if (still.length) throw new CompareError(`--compare: packages still missing after install-servers.sh: ${still.join(' ')}`);
  }
  if (!fs.existsSync(path.join(HERE, 'node_modules', '@xmpp', 'client', 'package.json'))) {
    log('compare: npm ci in bench/compare (@xmpp/client 0.14.0 for the XMPP load generator)');
    step('npm ci in bench/compare', 'npm', ['ci', '--no-audit', '--no-fund'], { cwd: HERE, logFile: path.join(work, 'logs', 'npm-ci.log'), timeoutMs: 10 * 60000 });
  }
  await checkPorts();
  for (const server of ['prosody', 'ejabberd']) {
    if (templateReady(server, work)) continue;
    log(`compare: building the ${server} template data dir (2,000 accounts via in-band registration, about 1 min)`);
    step(`${server} template (${CTL[server]} init)`, 'bash', [path.join(HERE, CTL[server]), 'init'],
      { logFile: path.join(work, 'logs', `${server}-init.log`), env: { W1_RUN: work, NODE: process.execPath }, timeoutMs: 10 * 60000 });
    fs.writeFileSync(path.join(work, server, 'template.stamp'), templateStamp(server));
  }
  return versions();
}

/** Non-zombie epmd (Erlang port mapper, started on demand by ejabberd) pids. */
export function epmdPids() {
  const out = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      if (/^\d+ \(epmd\) [^Z]/.test(st)) out.push(+d);
    } catch {}
  }
  return out;
}
/** Stop an epmd that the ejabberd runs started (epmd -kill refuses while any Erlang node is registered). */
export function stopEpmdIfOurs(before) {
  const now = epmdPids().filter((p) => !before.includes(p));
  if (now.length) { try { execFileSync('epmd', ['-kill'], { stdio: 'ignore', timeout: 10000 }); } catch {} }
}
