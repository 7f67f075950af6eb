// Checks the host tools verify needs before anything starts, naming the Debian package of each missing one.
import { execa } from 'execa';
import { VerifyError } from './errors.ts';

const TOOLS: [string, string][] = [
  ['qemu-system-aarch64', 'qemu-system-arm'],
  ['qemu-img', 'qemu-utils'],
  ['mcopy', 'mtools'],
  ['debugfs', 'e2fsprogs'],
  ['mke2fs', 'e2fsprogs'],
  ['sfdisk', 'fdisk'],
  ['xz', 'xz-utils'],
  ['apt-get', 'apt'],
  ['dpkg-deb', 'dpkg'],
];

export async function checkHostTools(): Promise<void> {
  const missing: [string, string][] = [];
  for (const [tool, pkg] of TOOLS) {
    const r = await execa('sh', ['-c', `command -v ${tool}`], { reject: false });
    if (r.exitCode !== 0) missing.push([tool, pkg]);
  }
  if (missing.length) {
    const pkgs = [...new Set(missing.map(([, p]) => p))].join(' ');
    throw new VerifyError('tool', `missing host tools: ${missing.map(([t]) => t).join(', ')}`, `apt-get install ${pkgs}`);
  }
}
