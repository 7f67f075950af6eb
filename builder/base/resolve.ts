// Resolves a definition's base (bootstrap | file | url) to a raw, cached .img on the host, with its digest.
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { BaseSpec } from '../definition/schema.ts';
import { PibakeError } from '../errors.ts';
import { sha256File } from '../host/hash.ts';
import { cacheDir } from '../paths.ts';
import type { Reporter } from '../reporter.ts';
import type { CleanupStack } from '../cleanup.ts';
import { startBuildContainer } from '../container/build-container.ts';
import { bootstrapBase } from './bootstrap.ts';
import { download, formatOf } from './download.ts';
import { fillCacheDir } from '../host/cache-entry.ts';
import { readBaseLayout } from '../image/base-view.ts';

export interface BaseContext {
  reporter: Reporter;
  cleanups: CleanupStack;
  builderImage: string;
  definitionDir: string;
  signal?: AbortSignal;
}

export interface ResolvedBase {
  image: string;
  digest: string;
  kind: 'bootstrap' | 'file' | 'url';
  info?: Record<string, unknown>;
}

/** Decompresses an .img.xz or .zip into the base cache (keyed by the archive's digest), in the builder container. */
async function unpack(archive: string, digest: string, bc: BaseContext): Promise<string> {
  const dir = cacheDir('base', `image-${digest.slice(0, 16)}`);
  const image = path.join(dir, 'base.img');
  if (existsSync(image)) return image;
  await fillCacheDir(dir, `unpack ${path.basename(archive)}`, bc.reporter, bc.cleanups, async (tmp) => {
    const c = await startBuildContainer(bc.builderImage, [{ host: path.dirname(archive), container: '/in', readOnly: true }, { host: tmp, container: '/out' }], bc.cleanups, {
      name: `pibake-unpack-${process.pid}-${Date.now()}`,
      network: false,
      debug: bc.reporter.debug,
    });
    // The archive's name is passed as an argument, never spliced into the script.
    const inside = `/in/${path.basename(archive)}`;
    try {
      if (formatOf(archive) === '.zip') {
        const list = await c.exec(['busybox', 'unzip', '-l', inside], { allowFail: true, display: `unzip -l ${path.basename(archive)}` });
        const member = list.exitCode === 0 ? list.stdout.split('\n').map((l) => l.trim().split(/\s+/).slice(3).join(' ')).find((n) => n.endsWith('.img')) : undefined;
        if (!member) throw new PibakeError('config', 'E_BASE_ZIP', `${path.basename(archive)}: ${list.exitCode === 0 ? 'a zip with no .img inside' : 'not a readable zip'}`, 'point base at a Raspberry Pi OS image (.img, .img.xz, or a .zip holding one .img)');
        await c.exec(['bash', '-euo', 'pipefail', '-c', 'busybox unzip -p "$1" "$2" | cp --sparse=always /dev/stdin /out/base.img', 'unpack', inside, member], { hint: 'the archive is damaged or not a disk image', display: `unzip ${path.basename(archive)}` });
      } else {
        await c.exec(['bash', '-euo', 'pipefail', '-c', 'xz -dc -T0 "$1" | cp --sparse=always /dev/stdin /out/base.img', 'unpack', inside], { hint: 'the archive is damaged or not a disk image', display: `xz -d ${path.basename(archive)}` });
      }
    } finally {
      await c.remove();
    }
  });
  return image;
}

export async function resolveBase(spec: BaseSpec, bc: BaseContext): Promise<ResolvedBase> {
  if (spec.bootstrap) return bootstrapBase(spec.bootstrap, bc);
  let file: string;
  let digest: string;
  let kind: 'file' | 'url';
  if (spec.url) {
    kind = 'url';
    file = await download(spec.url, spec.sha256!, bc.reporter, bc.signal);
    digest = spec.sha256!;
  } else {
    kind = 'file';
    file = path.resolve(bc.definitionDir, spec.file!);
    if (!existsSync(file)) throw new PibakeError('config', 'E_BASE_FILE', `base.file ${spec.file}: no such file (resolved to ${file})`, 'paths are relative to the definition file');
    digest = await sha256File(file);
    if (spec.sha256 && spec.sha256 !== digest)
      throw new PibakeError('config', 'E_DIGEST', `sha256 of ${spec.file} is ${digest}, the definition says ${spec.sha256}`, 'fix base.sha256 or use the right file');
  }
  const image = formatOf(file) === '.img' ? file : await unpack(file, digest, bc);
  // a Pi OS disk image before any container opens it; what is not one is not kept: neither its unpacked copy in
  // the cache nor the download (it matched its sha256, but is no use)
  try {
    readBaseLayout(image, spec.url ? `base.url ${spec.url}` : `base.file ${spec.file}`);
  } catch (e) {
    if (image !== file) rmSync(path.dirname(image), { recursive: true, force: true });
    if (kind === 'url') rmSync(file, { force: true });
    throw e;
  }
  return { image, digest: `sha256:${digest}`, kind };
}
