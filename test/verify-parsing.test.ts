// Unit tests of verify's parsers and builders: sfdisk JSON, guest result lines, systemd-analyze, cmdline, modules, cpio.
import { afterAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { mkdtemp as mkdtempRaw, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootAndRoot, parseSfdiskJson, partUuid } from '../builder/verify/partition-table.ts';
import { parseAnalyzeTime, parseGuestResults } from '../builder/verify/guest-results.ts';
import { guestCmdline } from '../builder/verify/kernel-cmdline.ts';
import { loadOrder, modinfoDepends, parseModulesDep } from '../builder/verify/kernel-modules.ts';
import { cpioNewc } from '../builder/verify/cpio.ts';
import { collectStageChecks, validateChecks } from '../builder/verify/collect-checks.ts';
import { formatReport, type VerifyReport } from '../builder/verify/report.ts';
import { defineStage } from '../builder/stage.ts';
import { z } from 'zod';

const temps: string[] = [];
const mkdtemp = async (prefix: string) => { const d = await mkdtempRaw(prefix); temps.push(d); return d; };
afterAll(() => Promise.all(temps.map((d) => rm(d, { recursive: true, force: true }))));

const sfdisk = JSON.stringify({
  partitiontable: {
    label: 'dos', id: '0x2e7a1b3c', device: 'x.img', unit: 'sectors', sectorsize: 512,
    partitions: [
      { node: 'x.img1', start: 16384, size: 1048576, type: 'c' },
      { node: 'x.img2', start: 1064960, size: 4194304, type: '83' },
    ],
  },
});

describe('partition table', () => {
  it('reads byte offsets and picks bootfs and rootfs (trixie 8 MiB alignment)', () => {
    const t = parseSfdiskJson(sfdisk);
    const { boot, root } = bootAndRoot(t);
    expect(boot).toMatchObject({ number: 1, offset: 16384 * 512, type: 'c' });
    expect(root).toMatchObject({ number: 2, offset: 1064960 * 512, size: 4194304 * 512 });
    expect(partUuid(t, root)).toBe('2e7a1b3c-02');
  });
  it('explains a file without a table', () => {
    expect(() => parseSfdiskJson('not json', 'foo.img')).toThrow(/foo.img: cannot read the partition table/);
  });
});

describe('guest results', () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  it('decodes events, ignores a torn last line', () => {
    const text = [
      '{"event":"multi-user","uptime":41.2,"initramfs":3.9}',
      `{"event":"check","id":"zram.active","exit":0,"start":50,"end":50.4,"out":"${b64('/dev/zram0 partition')}"}`,
      '{"event":"done","upt',
    ].join('\n');
    const ev = parseGuestResults(text);
    expect(ev).toHaveLength(2);
    expect(ev[1]).toMatchObject({ event: 'check', id: 'zram.active', out: '/dev/zram0 partition' });
  });
  it('finds prefixed lines in a console log with kernel noise', () => {
    const text = '[  3.1] virtio_blk\r\nPIBAKE-VERIFY {"event":"done","uptime":60.1}\r\n';
    expect(parseGuestResults(text, true)).toEqual([{ event: 'done', uptime: 60.1 }]);
  });
  it('parses systemd-analyze time', () => {
    const t = 'Startup finished in 2.102s (kernel) + 1min 3.250s (userspace) = 1min 5.352s\nmulti-user.target reached after 58.114s in userspace.\n';
    expect(parseAnalyzeTime(t)).toEqual({ totalSec: 65.352, targetUserspaceSec: 58.114, target: 'multi-user.target' });
    expect(parseAnalyzeTime('Bootup is not yet finished')).toEqual({ totalSec: undefined, targetUserspaceSec: undefined, target: undefined });
  });
});

describe('kernel command line', () => {
  it('keeps the image options and drops what only fits a Pi', () => {
    const line = guestCmdline('console=serial0,115200 console=tty1 root=PARTUUID=ab-02 rootfstype=ext4 fsck.repair=yes rootwait quiet init=/usr/lib/raspberrypi-sys-mods/firstboot resize cgroup_enable=memory', '/dev/vda2');
    expect(line).toContain('pibake.root=/dev/vda2');
    expect(line).toContain('cgroup_enable=memory');
    expect(line).not.toMatch(/serial0|tty1|PARTUUID|init=|resize|quiet/);
  });
});

describe('kernel modules', () => {
  it('orders dependencies first and skips built-ins', () => {
    const idx = parseModulesDep('kernel/fs/ext4/ext4.ko.xz: kernel/lib/crc16.ko.xz kernel/fs/mbcache.ko.xz kernel/fs/jbd2/jbd2.ko.xz\nkernel/fs/jbd2/jbd2.ko.xz:\nkernel/fs/mbcache.ko.xz:\nkernel/lib/crc16.ko.xz:\nkernel/drivers/block/virtio_blk.ko.xz:\n');
    expect(loadOrder(idx, ['virtio_pci', 'virtio_blk', 'ext4'])).toEqual(['virtio_blk', 'crc16', 'mbcache', 'jbd2', 'ext4']);
  });
  it('reads depends= from a module .modinfo section', () => {
    expect(modinfoDepends(Buffer.from('\0license=GPL\0depends=jbd2,mbcache,crc16\0name=ext4\0'))).toEqual(['jbd2', 'mbcache', 'crc16']);
    expect(modinfoDepends(Buffer.from('\0depends=\0'))).toEqual([]);
  });
});

describe('cpio newc', () => {
  it('is read back by busybox cpio', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'verify-cpio-'));
    const file = join(dir, 'a.cpio');
    await writeFile(file, cpioNewc([
      { path: 'bin', mode: 0o040755 },
      { path: 'bin/hello', mode: 0o100755, data: 'hi\n' },
      { path: 'bin/link', mode: 0o120777, data: 'hello' },
    ]));
    const r = await execa('busybox', ['cpio', '-t', '-F', file]);
    expect(r.stdout.split('\n')).toEqual(['bin', 'bin/hello', 'bin/link']);
  });
});

describe('checks from stages', () => {
  const s = defineStage({
    name: 'sysctl',
    description: 'x',
    schema: z.object({ values: z.record(z.string(), z.string()) }),
    apply: async () => {},
    plan: () => [],
    verify: (cfg) => Object.entries(cfg.values).map(([k, v]) => ({ id: `sysctl.${k}`, title: k, guest: `test "$(sysctl -n ${k})" = "${v}"` })),
  });
  it('collects checks only from stages the definition names, tagged with their source', () => {
    expect(collectStageChecks([s], {})).toEqual([]);
    const c = collectStageChecks([s], { sysctl: { values: { 'vm.swappiness': '100' } } });
    expect(c).toMatchObject([{ id: 'sysctl.vm.swappiness', source: 'stage:sysctl' }]);
  });
  it('rejects duplicate and unsafe ids', () => {
    expect(() => validateChecks([{ id: 'a', title: 'a', guest: 'true', source: 'x' }, { id: 'a', title: 'a', guest: 'true', source: 'y' }])).toThrow(/declared by x and y/);
    expect(() => validateChecks([{ id: '../x', title: 'a', guest: 'true', source: 'x' }])).toThrow(/not a plain name/);
  });
});

describe('report', () => {
  it('prints a row per check and the compare line', () => {
    const r: VerifyReport = {
      ok: false, startedAt: '', durationSec: 80, reportFile: '/o/verify-report.json',
      boots: [{ role: 'image', image: 'x.img', kernel: 'k', timings: { multiUserSec: 40 }, consoleLog: '/o/c.log', checks: [
        { id: 'zram.active', title: '', source: 'stage:zram', status: 'pass', detail: '/dev/zram0' },
        { id: 'boot.no-failed-units', title: '', source: 'builtin', status: 'fail', detail: 'failed: x.service' },
      ] }],
      compare: { imageMultiUserSec: 40, baseMultiUserSec: 50, ratio: 0.8 },
    };
    const out = formatReport(r);
    expect(out).toMatch(/PASS\s+zram.active\s+stage:zram\s+\/dev\/zram0/);
    expect(out).toMatch(/FAIL\s+boot.no-failed-units/);
    expect(out).toContain('ratio image/base 0.80');
    expect(out).toContain('verify FAILED (1 failing check)');
  });
});

describe('base of an image for --compare-base', () => {
  it('is found in the cache through <name>.manifest.json, or explained', async () => {
    const { baseImageFromManifest } = await import('../builder/verify/base-locate.ts');
    const { mkdir } = await import('node:fs/promises');
    const dir = await mkdtemp(join(tmpdir(), 'verify-base-'));
    const cache = join(dir, 'cache');
    const saved = process.env.PIBAKE_CACHE;
    process.env.PIBAKE_CACHE = cache;
    try {
      expect(() => baseImageFromManifest(join(dir, 'im.img.xz'))).toThrow(/no im\.manifest\.json next to/);
      await writeFile(join(dir, 'im.manifest.json'), JSON.stringify({ base: { digest: 'bootstrap:d631457a70dd5306aaaa' } }));
      expect(() => baseImageFromManifest(join(dir, 'im.img.xz'))).toThrow(/not in the cache/);
      await mkdir(join(cache, 'base', 'bootstrap-d631457a70dd5306'), { recursive: true });
      await writeFile(join(cache, 'base', 'bootstrap-d631457a70dd5306', 'base.img'), '');
      expect(baseImageFromManifest(join(dir, 'im.img.xz'))).toBe(join(cache, 'base', 'bootstrap-d631457a70dd5306', 'base.img'));
    } finally {
      if (saved === undefined) delete process.env.PIBAKE_CACHE;
      else process.env.PIBAKE_CACHE = saved;
    }
  });
});
