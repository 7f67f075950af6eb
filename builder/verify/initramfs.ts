// Assembles the verify initramfs on the host: arm64 busybox, the kernel's own modules, /init and the guest payload.
import { gzipSync } from 'node:zlib';
import { readFile } from 'node:fs/promises';
import { cpioNewc, type CpioEntry } from './cpio.ts';
import { initScript } from './init-script.ts';
import { payloadEntries } from './guest-payload.ts';
import type { VerifyCheck } from '../stage.ts';

export interface InitramfsInput {
  busybox: string;
  modules: { name: string; bytes: Buffer }[]; // in load order, uncompressed
  checks: VerifyCheck[];
  checkTimeoutSec: number;
  modulesDisk: boolean;
}

export async function buildInitramfs(input: InitramfsInput): Promise<Buffer> {
  const dirs = ['bin', 'dev', 'proc', 'sys', 'newroot', 'modules'];
  const entries: CpioEntry[] = [
    ...dirs.map((d) => ({ path: d, mode: 0o040755 })),
    { path: 'dev/console', mode: 0o020600, rdev: [5, 1] }, // so /init has stdout before devtmpfs is mounted
    { path: 'bin/busybox', mode: 0o100755, data: await readFile(input.busybox) },
    { path: 'bin/sh', mode: 0o120777, data: 'busybox' },
    { path: 'init', mode: 0o100755, data: initScript() },
    { path: 'modules/load-order', mode: 0o100644, data: input.modules.map((m) => m.name).join('\n') + '\n' },
    ...input.modules.map((m) => ({ path: `modules/${m.name}.ko`, mode: 0o100644, data: m.bytes })),
    ...payloadEntries(input.checks, input.checkTimeoutSec, input.modulesDisk),
  ];
  return gzipSync(cpioNewc(entries), { level: 6 });
}
