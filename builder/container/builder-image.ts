// Provides the builder container image: reuse by content key, pull when a registry answers, else bootstrap + import.
import { createHash } from 'node:crypto';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { docker } from './docker.ts';
import { hostExec, hostStream } from '../host/exec.ts';
import { hostDebianMirror } from '../host/mirror.ts';
import { cacheDir, projectRoot } from '../paths.ts';
import { PibakeError } from '../errors.ts';
import type { Reporter } from '../reporter.ts';
import type { CleanupStack } from '../cleanup.ts';

const scriptDir = path.join(projectRoot, 'builder', 'container');

/** Content key: the rootfs script and its package list decide what the image holds. */
export function builderImageKey(): string {
  const h = createHash('sha256');
  for (const f of ['make-builder-rootfs.sh', 'packages.txt']) h.update(readFileSync(path.join(scriptDir, f)));
  return h.digest('hex').slice(0, 16);
}

export function builderImageTag(): string {
  return process.env.PIBAKE_BUILDER_IMAGE || `pibake-builder:${builderImageKey()}`;
}

async function imageExists(tag: string): Promise<boolean> {
  try {
    await docker().getImage(tag).inspect();
    return true;
  } catch {
    return false;
  }
}

/** Pulls through the same engine connection as everything else (dockerode), not the docker CLI. */
async function tryPull(ref: string, reporter: Reporter): Promise<boolean> {
  try {
    const stream: NodeJS.ReadableStream = await docker().pull(ref);
    await new Promise<void>((resolve, reject) => docker().modem.followProgress(stream, (err) => (err ? reject(err) : resolve())));
    return true;
  } catch (e: any) {
    reporter.debug(`pull of ${ref} failed: ${String(e.message).split('\n').pop()}`);
    return false;
  }
}

/** Ensures the builder image exists locally and returns its tag. */
export async function ensureBuilderImage(reporter: Reporter, cleanups: CleanupStack): Promise<string> {
  const tag = builderImageTag();
  if (await imageExists(tag)) {
    reporter.debug(`builder image ${tag} is cached`);
    return tag;
  }
  if (process.env.PIBAKE_BUILDER_IMAGE) {
    if (await tryPull(tag, reporter)) return tag;
    throw new PibakeError('tool', 'E_BUILDER_IMAGE', `cannot pull PIBAKE_BUILDER_IMAGE=${tag}`, 'unset it to bootstrap the builder image from the Debian archive');
  }
  const step = reporter.step(`builder image ${tag}: bootstrapping from the Debian archive (no registry needed)`);
  const workRoot = cacheDir('tmp');
  await hostExec(['mkdir', '-p', workRoot]);
  const rootfs = mkdtempSync(path.join(workRoot, 'builder-rootfs-'));
  const release = cleanups.push(`remove ${rootfs}`, () => rmSync(rootfs, { recursive: true, force: true }));
  try {
    await hostExec([path.join(scriptDir, 'make-builder-rootfs.sh'), hostDebianMirror(), rootfs], {
      hint: 'debootstrap needs root and the Debian archive; run `pibake doctor`',
    });
    const tar = hostStream(['tar', '--numeric-owner', '--xattrs', '-C', rootfs, '-c', '.']);
    const imported = (async () => {
      const stream: NodeJS.ReadableStream = await (docker() as any).importImage(tar.stdout, { repo: tag.split(':')[0], tag: tag.split(':')[1] });
      await new Promise<void>((resolve, reject) => docker().modem.followProgress(stream, (err) => (err ? reject(err) : resolve())));
    })();
    await Promise.all([imported, tar.done]); // together: a tar killed by Ctrl-C must not reject unobserved
  } catch (e) {
    step.fail();
    throw e;
  } finally {
    await release();
  }
  if (!(await imageExists(tag))) throw new PibakeError('tool', 'E_BUILDER_IMAGE', `import of ${tag} did not produce an image`);
  step.done();
  return tag;
}
