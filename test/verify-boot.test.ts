// Real qemu boots (no mocks): the base image reaches multi-user with the built-in rows passing, a must-fail check
// fails on its own row, a too-short timeout ends with the console tail and no qemu left, a built image passes.
import { afterAll, describe, expect, inject, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { formatReport, verifyImage } from '../builder/verify/index.ts';
import { ensureKit } from '../builder/verify/kit.ts';
import { CleanupStack } from '../builder/cleanup.ts';
import { loadDefinition } from '../builder/definition/load.ts';
import { bootstrapCachePath } from '../builder/base/bootstrap.ts';

// The base the default image was built from: the integration setup's build leaves it in the base cache.
const defaultBase = loadDefinition('images/im-server.yaml').def.base.bootstrap!;
const BASE = process.env.PIBAKE_VERIFY_BASE ?? join(bootstrapCachePath(defaultBase).dir, 'base.img');
// the integration project's global setup builds the default image and provides its path
const provided = (() => {
  try {
    return inject('builtImage') as string | undefined;
  } catch {
    return undefined;
  }
})();
const BUILT = process.env.PIBAKE_VERIFY_IMAGE ?? provided ?? 'out/im-server.img.xz';
const log = (m: string) => process.stderr.write(`  verify: ${m}\n`);
const dirs: string[] = [];
const outDir = async () => { const d = await mkdtemp(join(tmpdir(), 'verify-test-')); dirs.push(d); return d; };
// console logs and reports are kept when PIBAKE_KEEP_VERIFY_OUTPUT is set (to read a failing boot)
afterAll(() => (process.env.PIBAKE_KEEP_VERIFY_OUTPUT ? undefined : Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))));
const qemuRunningFor = async (dir: string) => (await execa('pgrep', ['-f', `qemu-system-aarch64.*${dir}`], { reject: false })).stdout.trim();

describe('verify kit', () => {
  it('provides an arm64 busybox-static made without emulation', async () => {
    const kit = await ensureKit(log, new CleanupStack());
    const { stdout } = await execa('file', ['-b', kit.busybox]);
    expect(stdout).toMatch(/ARM aarch64.*statically linked/);
  });
});

describe('boot of the base image', () => {
  it('the base image is there (built by the integration setup)', () => expect(existsSync(BASE), BASE).toBe(true));

  it('reaches multi-user with the built-in rows passing; a must-fail check fails on its own row', async () => {
    const report = await verifyImage({
      image: BASE,
      outDir: await outDir(),
      timeoutSec: 600,
      log,
      extraChecks: [
        { id: 'test.must-pass', title: 'a check that passes', guest: 'echo "kernel $(uname -r)"; test -d /proc/sys' },
        { id: 'test.must-fail', title: 'a check that must fail', guest: 'echo "swappiness $(cat /proc/sys/vm/swappiness)"; test "$(cat /proc/sys/vm/swappiness)" = 12345' },
      ],
    });
    process.stderr.write(formatReport(report) + '\n');
    const rows = new Map(report.boots[0]!.checks.map((c) => [c.id, c]));
    for (const id of ['boot.multi-user', 'boot.no-failed-units', 'boot.rootfs-expanded', 'boot.disk-id-renewed', 'timing.boot-to-multi-user', 'test.must-pass']) expect(rows.get(id)?.status, `${id}: ${rows.get(id)?.detail}`).toBe('pass');
    expect(rows.get('test.must-fail')).toMatchObject({ status: 'fail', source: 'extra' });
    expect(rows.get('test.must-fail')!.detail).toMatch(/exit 1; swappiness \d+/);
    expect(report.ok).toBe(false);
    expect(report.boots[0]!.timings.multiUserSec).toBeGreaterThan(1);
    const written = JSON.parse(await readFile(report.reportFile, 'utf8'));
    expect(written.boots[0].checks).toHaveLength(report.boots[0]!.checks.length);
  });

  it('gives up after the timeout with the console tail, and leaves no qemu behind', async () => {
    const dir = await outDir();
    const report = await verifyImage({ image: BASE, outDir: dir, timeoutSec: 8, log });
    const boot = report.boots[0]!;
    expect(report.ok).toBe(false);
    expect(boot.checks.find((c) => c.id === 'boot.multi-user')?.detail).toMatch(/did not finish within 8 s/);
    expect(boot.consoleTail).toBeTruthy();
    expect(await qemuRunningFor(dir)).toBe('');
  });
});

describe('boot of a built image', () => {
  it('the built image is there', () => expect(existsSync(BUILT), BUILT).toBe(true));

  it('proves every stage of the definition live', async () => {
    const report = await verifyImage({ image: BUILT, definition: 'images/im-server.yaml', outDir: await outDir(), timeoutSec: 900, log });
    process.stderr.write(formatReport(report) + '\n');
    const failing = report.boots[0]!.checks.filter((c) => c.status === 'fail').map((c) => `${c.id}: ${c.detail}`);
    expect(failing).toEqual([]);
    expect(report.boots[0]!.checks.some((c) => c.source.startsWith('stage:'))).toBe(true);
    // the disk is GROW_MIB larger than the image: the first boot must have grown the root partition into it
    expect(report.boots[0]!.checks.find((c) => c.id === 'boot.rootfs-expanded')?.detail).toMatch(/ends 0 MiB before the end.*expand-rootfs: \/dev\/vda2 \d+ -> \d+ sectors/);
  });

  it('fails the server rows when the server is stopped before the host checks run', async () => {
    const report = await verifyImage({
      image: BUILT,
      definition: 'images/im-server.yaml',
      outDir: await outDir(),
      timeoutSec: 900,
      log,
      extraChecks: [{ id: 'test.stop-server', title: 'stop the chat server (guest checks run before host checks)', guest: 'systemctl stop pibake-im.service && echo stopped' }],
    });
    process.stderr.write(formatReport(report) + '\n');
    const status = Object.fromEntries(report.boots[0]!.checks.map((c) => [c.id, c.status]));
    expect(status).toMatchObject({ 'im-server.active': 'pass', 'test.stop-server': 'pass', 'im-server.healthz': 'fail', 'im.message-round-trip': 'fail' });
    expect(report.ok).toBe(false);
  });
});
