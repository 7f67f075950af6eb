// `pibake doctor`: checks the engine, binfmt, tools and disk space, and prints the exact commands that fix what is missing.
import { existsSync, readFileSync, statfsSync, mkdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { docker } from '../container/docker.ts';
import { cacheRoot } from '../paths.ts';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

const has = (cmd: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

export async function doctorChecks(): Promise<Check[]> {
  const checks: Check[] = [];
  const major = Number(process.versions.node.split('.')[0]);
  checks.push({ name: 'node', ok: major >= 24, detail: `v${process.versions.node}`, fix: 'run pibake through ./pibake (it uses the pinned Node 24 from node_modules)' });
  let engine = false;
  let detail = 'no answer';
  try {
    await docker().ping();
    const v = await docker().version();
    engine = true;
    detail = `Docker ${v.Version}`;
  } catch (e: any) {
    detail = e.code ?? e.message;
  }
  checks.push({ name: 'docker engine', ok: engine, detail, fix: 'apt-get install -y docker.io && (dockerd >/var/log/dockerd.log 2>&1 &)' });
  const binfmt = '/proc/sys/fs/binfmt_misc/qemu-aarch64';
  const bf = existsSync(binfmt) ? readFileSync(binfmt, 'utf8') : '';
  const bfOk = /^enabled/m.test(bf) && /flags: .*F/.test(bf);
  checks.push({
    name: 'binfmt qemu-aarch64',
    ok: bfOk,
    detail: bf ? bf.split('\n').filter((l) => /enabled|flags/.test(l)).join(', ') : 'not registered',
    fix: 'apt-get install -y qemu-user-static binfmt-support && (mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc) && update-binfmts --enable qemu-aarch64',
  });
  checks.push({ name: 'loop devices', ok: existsSync('/dev/loop-control'), detail: existsSync('/dev/loop-control') ? '/dev/loop-control present' : 'missing', fix: 'modprobe loop (on the host, once)' });
  for (const [tool, pkg] of [['debootstrap', 'debootstrap'], ['sfdisk', 'fdisk'], ['debugfs', 'e2fsprogs'], ['mcopy', 'mtools'], ['qemu-system-aarch64', 'qemu-system-arm'], ['qemu-img', 'qemu-utils']] as const) {
    const ok = has(tool);
    checks.push({ name: tool, ok, detail: ok ? 'found' : 'missing', fix: `apt-get install -y ${pkg}` });
  }
  try {
    mkdirSync(cacheRoot(), { recursive: true });
    const fs = statfsSync(cacheRoot());
    const freeGiB = (fs.bavail * fs.bsize) / 2 ** 30;
    checks.push({ name: 'disk space', ok: freeGiB >= 12, detail: `${freeGiB.toFixed(1)} GiB free in ${cacheRoot()}`, fix: 'free space or set PIBAKE_CACHE to a bigger disk (a build needs about 12 GiB)' });
  } catch (e: any) {
    checks.push({ name: 'cache dir', ok: false, detail: `${cacheRoot()}: ${e.code ?? e.message}`, fix: 'set PIBAKE_CACHE to a writable directory' });
  }
  const root = process.getuid?.() === 0;
  checks.push({ name: 'root', ok: root, detail: root ? 'running as root' : `uid ${process.getuid?.()}`, fix: 'build and verify as root (validate and plan do not need it)' });
  return checks;
}

export function formatChecks(checks: Check[]): string {
  const w = Math.max(...checks.map((c) => c.name.length));
  const rows = checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'}  ${c.name.padEnd(w)}  ${c.detail}${c.ok || !c.fix ? '' : `\n      fix: ${c.fix}`}`);
  return rows.join('\n');
}
