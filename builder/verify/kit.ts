// The verify kit, made on the host without emulation and cached: arm64 busybox-static, and Debian's arm64 kernel on demand.
import { createHash } from 'node:crypto';
import { access, mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';

import { join } from 'node:path';
import { cacheDir } from '../paths.ts';
import { run } from './exec.ts';
import { hostMirror, PrivateApt } from './apt-private.ts';
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


const exists = (p: string): Promise<boolean> => access(p).then(() => true, () => false);

/** Builds into a temp sibling and renames, so concurrent verifies never see a half-made kit entry. */
async function buildOnce(final: string, build: (tmp: string) => Promise<void>): Promise<void> {
  if (await exists(join(final, '.complete'))) return;
  await mkdir(join(final, '..'), { recursive: true });
  const tmp = await mkdtemp(`${final}.tmp-`);
  try {
    await build(tmp);
    await writeFile(join(tmp, '.complete'), new Date().toISOString());
    await rm(final, { recursive: true, force: true });
    await rename(tmp, final).catch(async (e) => {
      if (!(await exists(join(final, '.complete')))) throw e; // another verify won the race
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function kitDir(): Promise<{ dir: string; apt: PrivateApt; suite: string; mirror: Awaited<ReturnType<typeof hostMirror>> }> {
  const mirror = await hostMirror();
  const key = createHash('sha256').update(`${KIT_FORMAT}:${mirror.suite}:arm64`).digest('hex').slice(0, 12);
  const dir = cacheDir('verify-kit', key);
  return { dir, apt: new PrivateApt(join(dir, 'apt')), suite: mirror.suite, mirror };
}

let aptUpdated = false;
async function ensureAptLists(apt: PrivateApt, mirror: Awaited<ReturnType<typeof hostMirror>>): Promise<void> {
  if (aptUpdated) return;
  await apt.update(mirror);
  aptUpdated = true;
}

export async function ensureKit(log: (m: string) => void): Promise<Kit> {
  const { dir, apt, mirror } = await kitDir();
  const target = join(dir, 'busybox');
  await buildOnce(target, async (tmp) => {
    log('verify kit: fetching arm64 busybox-static (once, cached)');
    await ensureAptLists(apt, mirror);
    const [deb] = await apt.download(['busybox-static'], join(tmp, 'deb'));
    await run(['dpkg-deb', '-x', deb!, join(tmp, 'x')]);
    await rename(join(tmp, 'x/bin/busybox'), join(tmp, 'busybox'));
    await rm(join(tmp, 'deb'), { recursive: true });
    await rm(join(tmp, 'x'), { recursive: true });
  });
  return { dir, busybox: join(target, 'busybox') };
}

/** Debian's generic arm64 kernel (linux-image-arm64), for images whose own kernel does not boot on qemu virt. */
export async function ensureDebianKernel(log: (m: string) => void): Promise<DebianKernel> {
  const { dir, apt, mirror } = await kitDir();
  const target = join(dir, 'debian-kernel');
  await buildOnce(target, async (tmp) => {
    log('verify kit: fetching Debian linux-image-arm64 (once, cached)');
    await ensureAptLists(apt, mirror);
    const pkg = await apt.resolveDepends('linux-image-arm64', 'linux-image-');
    const [deb] = await apt.download([pkg], join(tmp, 'deb'));
    await run(['dpkg-deb', '-x', deb!, join(tmp, 'x')]);
    const version = (await readdir(join(tmp, 'x/lib/modules')))[0]!;
    await rename(join(tmp, 'x/boot', `vmlinuz-${version}`), join(tmp, 'vmlinuz'));
    await rename(join(tmp, 'x/lib/modules', version), join(tmp, 'modules'));
    const index = await indexModuleTree(join(tmp, 'modules'));
    await writeFile(join(tmp, 'kernel.json'), JSON.stringify({ version, index: [...index] }));
    await run(['mke2fs', '-q', '-t', 'ext4', '-L', 'pibake-mods', '-d', join(tmp, 'modules'), join(tmp, 'modules.ext4'), '1G']);
    await rm(join(tmp, 'deb'), { recursive: true });
    await rm(join(tmp, 'x'), { recursive: true });
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
