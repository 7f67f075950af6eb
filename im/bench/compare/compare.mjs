// `bench --compare` orchestration: Prosody and ejabberd through the vendored W1 harness (knee ladder, idle), the common load, the report.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { HERE, killLeftovers } from './servers.mjs';
import { prepare, checkPorts, epmdPids, stopEpmdIfOurs, CompareError } from './prereqs.mjs';
import { pickCommon, report } from './report.mjs';

export { CompareError };
export const XMPP_SERVERS = ['prosody', 'ejabberd'];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * opt: parsed bench.mjs flags. Relevant: --compare-work DIR (default /var/tmp/pibake-im-compare: templates are kept there
 * between runs), --xmpp-loads 50,100,200,300, --common L (default: highest load all three sustained), --duration, --warmup,
 * --idle 200,2000.
 */
export function createCompare(opt, log) {
  const work = path.resolve(opt['compare-work'] ?? '/var/tmp/pibake-im-compare');
  const xmppLoads = (opt['xmpp-loads'] ?? '50,100,200,300').split(',').map(Number).filter((x) => x > 0);
  const common = Object.hasOwn(opt, 'common') ? +opt.common : null;
  const maxMinutes = 30; // per harness call (one ladder or one idle series), like the anchors' --maxminutes
  let child = null, epmdBefore = null, aborting = false; // epmdBefore: epmd pids before our first ejabberd start

  /** One call of xmpp-load.mjs (W1 ladder or idle series) under `taskset -c 1`; resolves to the JSON records it printed. */
  function harness(server, mode, args) {
    if (aborting) return Promise.reject(new CompareError('--compare: interrupted'));
    const argv = ['-c', '1', process.execPath, path.join(HERE, 'xmpp-load.mjs'), mode, '--server', server, '--pin', '0',
      '--duration', String(opt.duration ?? 30), '--warmup', String(opt.warmup ?? 5), '--bodybytes', String(opt.bodybytes ?? 100),
      '--clients', mode === 'w1' ? String(opt.clients ?? 200) : (opt.idle ?? '200,2000'),
      '--maxminutes', String(maxMinutes), '--out', path.join(work, 'results', `${server}-${mode}.jsonl`), ...args];
    return new Promise((resolve, reject) => {
      const c = spawn('taskset', argv, { env: { ...process.env, W1_RUN: work }, stdio: ['ignore', 'pipe', 'inherit'] });
      child = c;
      const records = [];
      let buf = '';
      c.stdout.on('data', (d) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i); buf = buf.slice(i + 1);
          try { records.push(JSON.parse(line)); } catch { if (line.trim()) process.stderr.write(line + '\n'); }
        }
      });
      // parent-side bound on top of the harness's own --maxminutes
      const killer = setTimeout(() => { c.kill('SIGTERM'); setTimeout(() => c.kill('SIGKILL'), 100000).unref(); }, (maxMinutes + 2) * 60000);
      c.on('error', (e) => { clearTimeout(killer); child = null; reject(new CompareError(`--compare: cannot run the XMPP harness: ${e.message}`)); });
      c.on('exit', (code, sig) => {
        clearTimeout(killer); child = null;
        if (code === 0) resolve(records);
        else if (aborting) reject(new CompareError('--compare: interrupted; servers stopped'));
        else reject(new CompareError(`--compare: ${server} ${mode} run failed (${sig ?? 'exit code ' + code}); its error is printed above`));
      });
    });
  }

  async function xmppServer(server, emit) {
    await checkPorts();
    if (server === 'ejabberd' && !epmdBefore) epmdBefore = epmdPids();
    log(`compare: ${server} W1 knee ladder ${xmppLoads.join(',')} msgs/s (stop rule: delivered < 0.95·L or p99 > 1 s)`);
    const ladder = await harness(server, 'w1', ['--loads', xmppLoads.join(','), '--tag', 'knee']);
    ladder.forEach(emit);
    log(`compare: ${server} idle RSS with ${opt.idle ?? '200,2000'} clients`);
    const idle = await harness(server, 'idle', []);
    idle.forEach(emit);
    if (server === 'ejabberd') stopEpmdIfOurs(epmdBefore);
    return { ladder, idle };
  }

  return {
    work,
    /** Fail fast before the (long) pibake-im ladder: packages, npm ci, ports, templates. */
    async prepare() {
      fs.mkdirSync(work, { recursive: true });
      const v = await prepare(work, log);
      log(`compare: prosody ${v.prosody}, ejabberd ${v.ejabberd}; work dir ${work}`);
      return v;
    },
    /** im = { ladder: [records], idle: record, runAt(L) -> record }. Returns the compare summary record. */
    async run(im, emit) {
      const res = { 'pibake-im': { ladder: im.ladder, idle: im.idle } };
      for (const s of XMPP_SERVERS) res[s] = await xmppServer(s, emit);
      const L = common ?? pickCommon(Object.values(res).map((r) => r.ladder), xmppLoads[0]);
      log(`compare: common load ${L} msgs/s`);
      for (const [s, r] of Object.entries(res)) {
        if (r.ladder.some((x) => x.L === L)) continue;
        log(`compare: ${s} at the common load ${L} msgs/s`);
        if (s === 'pibake-im') r.extra = [await im.runAt(L)];
        else { await checkPorts(); r.extra = await harness(s, 'w1', ['--loads', String(L), '--tag', 'common']); r.extra.forEach(emit); }
        if (s === 'ejabberd') stopEpmdIfOurs(epmdBefore);
      }
      return report(res, L);
    },
    /** Stop a running harness (it stops its server), then sweep any server process of our work dir. Bounded. */
    async abort() {
      aborting = true;
      const c = child;
      if (c && c.exitCode === null) {
        c.kill('SIGINT');
        const t0 = Date.now();
        while (c.exitCode === null && c.signalCode === null && Date.now() - t0 < 100000) await sleep(100);
        if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      }
      await this.cleanup();
    },
    async cleanup() {
      const left = await killLeftovers(work);
      if (left.length) log(`compare: stopped ${left.length} leftover server process(es): ${left.map((l) => l.pid).join(' ')}`);
      if (epmdBefore) stopEpmdIfOurs(epmdBefore);
    },
  };
}
