// The verify kit, made on the host without emulation and cached: arm64 busybox-static, and Debian's arm64 kernel on demand.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheDir } from '../paths.ts';
import type { CleanupStack } from '../cleanup.ts';
import { hostExec } from '../host/exec.ts';
import { fillCacheDir } from '../host/cache-entry.ts';
import { hostDebianSource, type DebianSource } from '../host/mirror.ts';
import { PrivateApt } from './apt-private.ts';
import { indexModuleTree, type ModuleIndex } from './kernel-modules.ts';

const KIT_FORMAT = 1;

export interface Kit {
  dir: string;
  busybox: string; // arm64 static binary
}

export interface DebianKernel {
  version: string;
  vmlinuz: string;
  modulesRoot: string; // host dir holding the modules of <version>
  modulesDisk: string; // ext4 image of that dir, attached read-only for a Pi-kernel image's overlay
  index: ModuleIndex;
}

/** fillCacheDir's progress as verify log lines (no timing: the boot's own lines follow). */
const logSteps = (log: (m: string) => void) => ({ step: (title: string) => (log(title), { done: () => 0, fail: () => {} }) });

function kitDir(): { dir: string; apt: PrivateApt; mirror: DebianSource } {
  const mirror = hostDebianSource();
  const key = createHash('sha256').update(`${KIT_FORMAT}:${mirror.suite}:arm64`).digest('hex').slice(0, 12);
  const dir = cacheDir('verify-kit', key);
  return { dir, apt: new PrivateApt(join(dir, 'apt')), mirror };
}

let aptUpdated = false;
async function ensureAptLists(apt: PrivateApt, mirror: DebianSource): Promise<void> {
  if (aptUpdated) return;
  await apt.update(mirror);
  aptUpdated = true;
}

/** Downloads one arm64 package and unpacks it (dpkg-deb -x: no maintainer scripts) into <tmp>/x; the .deb goes. */
async function unpackDeb(kit: ReturnType<typeof kitDir>, pkg: string, tmp: string): Promise<string> {
  await ensureAptLists(kit.apt, kit.mirror);
  const [deb] = await kit.apt.download([pkg], join(tmp, 'deb'));
  await hostExec(['dpkg-deb', '-x', deb!, join(tmp, 'x')]);
  await rm(join(tmp, 'deb'), { recursive: true });
  return join(tmp, 'x');
}

export async function ensureKit(log: (m: string) => void, cleanups: CleanupStack): Promise<Kit> {
  const kit = kitDir();
  const busybox = join(kit.dir, 'busybox', 'busybox');
  if (!existsSync(busybox)) await fillCacheDir(join(kit.dir, 'busybox'), 'verify kit: fetching arm64 busybox-static (once, cached)', logSteps(log), cleanups, async (tmp) => {
    const x = await unpackDeb(kit, 'busybox-static', tmp);
    await rename(join(x, 'bin/busybox'), join(tmp, 'busybox'));
    await rm(x, { recursive: true });
  });
  return { dir: kit.dir, busybox };
}

/** Debian's generic arm64 kernel (linux-image-arm64), for images whose own kernel does not boot on qemu virt. */
export async function ensureDebianKernel(log: (m: string) => void, cleanups: CleanupStack): Promise<DebianKernel> {
  const kit = kitDir();
  const target = join(kit.dir, 'debian-kernel');
  if (!existsSync(join(target, 'kernel.json'))) await fillCacheDir(target, 'verify kit: fetching Debian linux-image-arm64 (once, cached)', logSteps(log), cleanups, async (tmp) => {
    await ensureAptLists(kit.apt, kit.mirror);
    const x = await unpackDeb(kit, await kit.apt.resolveDepends('linux-image-arm64', 'linux-image-'), tmp);
    const version = (await readdir(join(x, 'lib/modules')))[0]!;
    await rename(join(x, 'boot', `vmlinuz-${version}`), join(tmp, 'vmlinuz'));
    await rename(join(x, 'lib/modules', version), join(tmp, 'modules'));
    const index = await indexModuleTree(join(tmp, 'modules'));
    await writeFile(join(tmp, 'kernel.json'), JSON.stringify({ version, index: [...index] }));
    await hostExec(['mke2fs', '-q', '-t', 'ext4', '-L', 'pibake-mods', '-d', join(tmp, 'modules'), join(tmp, 'modules.ext4'), '1G']);
    await rm(x, { recursive: true });
  });
  const meta = JSON.parse(await readFile(join(target, 'kernel.json'), 'utf8')) as { version: string; index: [string, { path: string; deps: string[] }][] };
  return {
    version: meta.version,
    vmlinuz: join(target, 'vmlinuz'),
    modulesRoot: join(target, 'modules'),
    modulesDisk: join(target, 'modules.ext4'),
    index: new Map(meta.index),
  };
}
