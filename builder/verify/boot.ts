// One verify boot: build the initramfs, run qemu on a snapshot, collect guest results, run host checks, always stop qemu.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { hostExec } from '../host/exec.ts';
import type { CleanupStack } from '../cleanup.ts';
import { InterruptedError } from '../errors.ts';
import { openImage, rootFileExists } from './image-file.ts';
import { prepareBootMedia } from './boot-media.ts';
import { ensureKit } from './kit.ts';
import { buildInitramfs } from './initramfs.ts';
import { guestCmdline } from './kernel-cmdline.ts';
import { freePort, startQemu } from './qemu.ts';
import { parseAnalyzeTime, parseGuestResults, type GuestEvent } from './guest-results.ts';
import { bootChecks, DISK_ID_SCRIPT, diskIdCheck, EXPAND_SCRIPT, expandCheck, IM_UNIT, imChecks } from './builtin-checks.ts';
import { validateChecks, type SourcedCheck } from './collect-checks.ts';
import type { BootReport, CheckResult } from './report.ts';

export interface BootOptions {
  image: string;
  role: 'image' | 'base';
  stageChecks: SourcedCheck[];
  /** 'auto': add the IM server checks when its unit file is in the image */
  imChecks: boolean | 'auto';
  imPort: number; // the server's port in the guest (forwarded from a free host port)
  outDir: string;
  timeoutSec: number;
  checkTimeoutSec: number;
  log: (m: string) => void;
  cleanups: CleanupStack;
  /** Aborted on SIGINT/SIGTERM: the boot stops waiting and runs no host check. */
  signal: AbortSignal;
}

/** "fetch failed" alone says little: add the cause's code (ECONNREFUSED, ECONNRESET…) or message. */
function describeHostError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const cause = e.cause as { code?: string; message?: string } | undefined;
  const extra = cause?.code ?? cause?.message;
  return extra && !e.message.includes(extra) ? `${e.message} (${extra})` : e.message;
}

/** How much larger than the image the guest's disk is, so the first-boot expansion has room to prove itself. */
export const GROW_MIB = 1024;

/** A qcow2 overlay GROW_MIB larger than the raw image, backed by it read-only (qemu's -snapshot sits on top). */
async function grownDisk(raw: string, work: string): Promise<string> {
  const overlay = join(work, 'disk.qcow2');
  const bytes = (await stat(raw)).size + GROW_MIB * 1048576;
  await hostExec(['qemu-img', 'create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', resolve(raw), overlay, String(bytes)], { hint: 'qemu-img comes with qemu-utils' });
  return overlay;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const round1 = (n: number): number => Math.round(n * 10) / 10;

async function imageHasUnit(img: Parameters<typeof rootFileExists>[0], unit: string): Promise<boolean> {
  for (const dir of ['/etc/systemd/system', '/usr/lib/systemd/system', '/lib/systemd/system']) {
    if (await rootFileExists(img, `${dir}/${unit}`)) return true;
  }
  return false;
}

async function tail(path: string, lines = 40): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.replace(/\r/g, '').split('\n').slice(-lines).join('\n');
}

export async function bootAndVerify(o: BootOptions): Promise<BootReport> {
  const { log, cleanups } = o;
  const stopIfAborted = (): void => {
    if (o.signal.aborted) throw new InterruptedError('SIGINT');
  };
  const img = await openImage(o.image, cleanups, log);
  const work = await mkdtemp(join(process.env.PIBAKE_TMPDIR ?? tmpdir(), 'pibake-verify-'));
  cleanups.push(`remove ${work}`, () => rm(work, { recursive: true, force: true }));

  const withIm = o.imChecks === 'auto' ? await imageHasUnit(img, IM_UNIT) : o.imChecks;
  // stage checks win: a built-in IM row is dropped when a stage already checks the same thing (e.g. *.healthz)
  const stageIds = o.stageChecks.map((c) => c.id);
  const covered = (id: string): boolean => stageIds.some((s) => s.split('.').pop() === id.split('.').pop() || (id === 'im.unit-active' && /\.active$/.test(s) && s.startsWith('im')));
  const checks = validateChecks([
    ...bootChecks().map((c) => ({ ...c, source: 'builtin' })),
    ...((await rootFileExists(img, EXPAND_SCRIPT)) ? [{ ...expandCheck(), source: 'builtin' }] : []),
    ...((await rootFileExists(img, DISK_ID_SCRIPT)) ? [{ ...diskIdCheck(img.table.diskId), source: 'builtin' }] : []),
    ...(withIm ? imChecks().filter((c) => !covered(c.id)).map((c) => ({ ...c, source: 'builtin' })) : []),
    ...o.stageChecks,
  ]);

  const kit = await ensureKit(log, cleanups);
  const media = await prepareBootMedia(img, work, log, cleanups);
  const initrd = join(work, 'initrd.gz');
  await writeFile(initrd, await buildInitramfs({ busybox: kit.busybox, modules: media.modules, checks, checkTimeoutSec: o.checkTimeoutSec, modulesDisk: !!media.modulesDisk }));

  const consoleLog = join(o.outDir, `verify-${o.role}-console.log`);
  const resultsFile = join(o.outDir, `verify-${o.role}-guest-results.jsonl`);
  await writeFile(consoleLog, '');
  await writeFile(resultsFile, '');
  const port = await freePort();
  const httpBase = `http://127.0.0.1:${port}`;
  const cmdline = guestCmdline(media.cmdlineTxt, `/dev/vda${img.root.number}`);
  stopIfAborted();
  log(`booting ${o.role} under qemu (TCG, 2 vCPUs, 1 GiB RAM, disk ${GROW_MIB} MiB larger than the image); console: ${consoleLog}`);
  const disk = await grownDisk(img.path, work);
  const qemu = startQemu({ kernel: media.kernel, initrd, cmdline, image: disk, imageFormat: 'qcow2', modulesDisk: media.modulesDisk, consoleLog, resultsFile, hostPort: port, guestPort: o.imPort });
  cleanups.push('stop qemu', () => qemu.stop());

  let qemuExit: { code?: number; stderr: string } | undefined;
  void qemu.exited.then((e) => (qemuExit = e));
  const readEvents = async (): Promise<GuestEvent[]> => {
    const fromPort = parseGuestResults(await readFile(resultsFile, 'utf8'));
    return fromPort.length ? fromPort : parseGuestResults(await readFile(consoleLog, 'utf8').catch(() => ''), true);
  };
  let serverAt: number | undefined;
  let events: GuestEvent[] = [];
  const deadline = qemu.startedAt + o.timeoutSec * 1000;
  let lastNote = '';
  let lastPoll = 0;
  while (Date.now() < deadline && !qemuExit) {
    stopIfAborted();
    events = await readEvents();
    const last = events.at(-1);
    const note = last ? (last.event === 'check' ? `check ${last.id}` : last.event) : 'booting';
    if (note !== lastNote) {
      log(`${o.role}: ${note} (${round1((Date.now() - qemu.startedAt) / 1000)} s)`);
      lastNote = note;
    }
    if (withIm && serverAt === undefined && Date.now() - lastPoll > 1000) {
      lastPoll = Date.now();
      const ok = await fetch(`${httpBase}/healthz`, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok, () => false);
      if (ok) serverAt = Date.now();
    }
    if (last?.event === 'done') break;
    await sleep(500);
  }
  if (qemuExit) events = await readEvents(); // lines written just before the guest powered off
  const done = events.some((e) => e.event === 'done');

  const hostResults = new Map<string, { ok: boolean; detail: string; seconds: number }>();
  if (done) {
    for (const c of checks.filter((c) => c.host)) {
      const t0 = Date.now();
      try {
        const detail = (await c.host!({ httpBase })) ?? 'ok';
        hostResults.set(c.id, { ok: true, detail, seconds: (Date.now() - t0) / 1000 });
      } catch (e) {
        hostResults.set(c.id, { ok: false, detail: describeHostError(e), seconds: (Date.now() - t0) / 1000 });
      }
    }
  }
  const exitedEarly = qemuExit; // before we stop it ourselves
  await qemu.stop();

  const why = exitedEarly
    ? `not run: qemu exited early (code ${exitedEarly.code ?? '?'})${exitedEarly.stderr ? `: ${exitedEarly.stderr.trim().split('\n').pop()}` : ''}`
    : `not run: boot did not finish within ${o.timeoutSec} s`;
  const guestById = new Map(events.filter((e) => e.event === 'check').map((e) => [e.id, e]));
  const rows: CheckResult[] = checks.map((c) => {
    const parts: { ok: boolean; detail: string }[] = [];
    let seconds = 0;
    if (c.guest) {
      const g = guestById.get(c.id);
      if (!g) parts.push({ ok: false, detail: why });
      else {
        const timedOut = g.exit === 124 || g.exit === 143;
        parts.push({ ok: g.exit === 0, detail: (timedOut ? `timed out after ${o.checkTimeoutSec} s; ` : g.exit !== 0 ? `exit ${g.exit}; ` : '') + g.out.trim() });
        seconds += g.end - g.start;
      }
    }
    if (c.host) {
      const h = hostResults.get(c.id);
      parts.push(h ?? { ok: false, detail: why });
      seconds += h?.seconds ?? 0;
    }
    const ok = parts.every((p) => p.ok);
    return { id: c.id, title: c.title, source: c.source, status: ok ? 'pass' : 'fail', detail: parts.map((p) => p.detail).filter(Boolean).join('; '), seconds: round1(seconds) };
  });

  const mu = events.find((e) => e.event === 'multi-user');
  const fin = events.find((e) => e.event === 'boot-finished');
  const analysis = events.find((e) => e.event === 'analysis');
  const timings = {
    multiUserSec: mu?.uptime,
    bootFinishedSec: fin?.uptime,
    initramfsSec: mu?.initramfs ?? undefined,
    powerOnToServerSec: serverAt === undefined ? undefined : round1((serverAt - qemu.startedAt) / 1000),
    systemdAnalyze: analysis?.analyze.trim(),
  };
  const analyze = parseAnalyzeTime(analysis?.analyze ?? '');
  rows.push({
    id: 'timing.boot-to-multi-user',
    title: 'boot to multi-user.target',
    source: 'builtin',
    status: mu ? 'pass' : 'fail',
    detail: mu ? `${mu.uptime} s guest uptime${analyze.totalSec ? `; systemd-analyze: startup ${analyze.totalSec} s, ${analyze.target ?? 'default target'} after ${analyze.targetUserspaceSec ?? '?'} s in userspace` : ''}` : why,
  });
  if (withIm) {
    rows.push({
      id: 'timing.power-on-to-server',
      title: 'power-on to /healthz answering',
      source: 'builtin',
      status: serverAt !== undefined ? 'pass' : 'fail',
      detail: serverAt !== undefined ? `${timings.powerOnToServerSec} s (host clock from qemu start)` : 'the server never answered /healthz',
    });
  }
  return {
    role: o.role,
    image: o.image,
    kernel: `${media.kernelVersion} (${media.kernelSource === 'image' ? "image's own" : "Debian's, image kernel not bootable on virt"})`,
    systemState: fin?.state || undefined,
    timings,
    checks: rows,
    consoleLog,
    consoleTail: done ? undefined : await tail(consoleLog),
  };
}
