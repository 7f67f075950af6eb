// Test helpers that inspect a built image with real tools: xz, sfdisk, dd, mtools, fsck, and a builder container.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CleanupStack } from '../../builder/cleanup.ts';
import { startBuildContainer, type BuildContainer } from '../../builder/container/build-container.ts';
import { builderImageTag } from '../../builder/container/builder-image.ts';
import { ImageSession } from '../../builder/image/session.ts';
import { parseSfdiskJson, type PiLayout } from '../../builder/image/partitions.ts';
import { projectRoot } from '../../builder/paths.ts';

export const sh = (cmd: string) => execFileSync('bash', ['-euo', 'pipefail', '-c', cmd], { encoding: 'utf8', maxBuffer: 256 << 20 });

export interface Unpacked {
  dir: string;
  raw: string;
  layout: PiLayout;
  sfdisk: any;
  bootFile(name: string): string;
  remove(): void;
}

/** Decompresses an .img.xz into a temp sparse raw image and reads its partition table. */
export function unpackImage(xz: string): Unpacked {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pibake-inspect-'));
  const raw = path.join(dir, 'image.img');
  sh(`xz -dc -T0 '${xz}' | cp --sparse=always /dev/stdin '${raw}'`);
  const json = sh(`sfdisk --json '${raw}'`);
  const layout = parseSfdiskJson(json, raw);
  return {
    dir,
    raw,
    layout,
    sfdisk: JSON.parse(json).partitiontable,
    bootFile: (name) => sh(`MTOOLS_SKIP_CHECK=1 mtype -i '${raw}@@${layout.boot.start * 512}' '::${name}'`),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Extracts partition n into its own sparse file (for fsck). */
export function extractPartition(u: Unpacked, n: 1 | 2): string {
  const p = n === 1 ? u.layout.boot : u.layout.root;
  const out = path.join(u.dir, `p${n}.img`);
  sh(`dd if='${u.raw}' of='${out}' bs=512 skip=${p.start} count=${p.size} conv=sparse status=none`);
  return out;
}

/** Mounts the image's rootfs in a builder container (loop + chroot prepared), like a build does. */
export async function openInContainer(raw: string): Promise<{ c: BuildContainer; close: () => Promise<void> }> {
  const cleanups = new CleanupStack();
  const dir = path.dirname(raw);
  if (path.basename(raw) !== 'work.img') sh(`ln -f '${raw}' '${dir}/work.img'`);
  const c = await startBuildContainer(
    builderImageTag(),
    [
      { host: dir, container: '/build' },
      { host: path.join(projectRoot, 'builder'), container: '/pibake', readOnly: true },
    ],
    cleanups,
    { name: `pibake-test-inspect-${process.pid}-${Date.now()}` },
  );
  const session = new ImageSession(c, path.join(dir, 'work.img'));
  await session.open(0, cleanups);
  return { c, close: async () => void (await cleanups.runAll()) };
}
