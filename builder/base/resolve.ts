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
import { parseLayoutFromImage } from '../image/base-view.ts';
import { parseSfdiskJson } from '../image/partitions.ts';

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
    const script = formatOf(archive) === '.zip'
      ? `n=$(busybox unzip -l "$1" | awk '/\\.img$/ {print $4; exit}'); [ -n "$n" ] || { echo "no .img inside the zip" >&2; exit 1; }; busybox unzip -p "$1" "$n" | cp --sparse=always /dev/stdin /out/base.img`
      : `xz -dc -T0 "$1" | cp --sparse=always /dev/stdin /out/base.img`;
    try {
      await c.exec(['bash', '-euo', 'pipefail', '-c', script, 'unpack', `/in/${path.basename(archive)}`], { hint: 'the archive is damaged or not a disk image' });
    } finally {
      await c.remove();
    }
  });
  return image;
}

/**
 * The base must be a Pi OS disk image before any container opens it: one line naming the definition field, and an
 * unpacked copy in the cache is removed again (the download, which matched its sha256, stays).
 */
function checkLayout(image: string, what: string, unpacked: boolean): void {
  let table: string;
  try {
    table = parseLayoutFromImage(image);
  } catch {
    if (unpacked) rmSync(path.dirname(image), { recursive: true, force: true });
    throw new PibakeError('config', 'E_LAYOUT', `${what}: not a disk image (sfdisk finds no partition table)`, 'give a Raspberry Pi OS Lite image (.img, .img.xz or .zip) and its sha256');
  }
  try {
    parseSfdiskJson(table, what);
  } catch (e) {
    if (unpacked) rmSync(path.dirname(image), { recursive: true, force: true });
    throw e;
  }
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
  try {
    checkLayout(image, spec.url ? `base.url ${spec.url}` : `base.file ${spec.file}`, image !== file);
  } catch (e) {
    if (kind === 'url') rmSync(file, { force: true }); // a download that is no image is not worth keeping either
    throw e;
  }
  return { image, digest: `sha256:${digest}`, kind };
}
