// Checks, before a build's heavy work, that the working directory and the output directory have room for it.
import { statSync, statfsSync } from 'node:fs';
import { PibakeError } from '../errors.ts';

export interface SpaceNeed {
  dir: string;
  bytes: number;
  what: string;
}

const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;

/** Throws E_SPACE naming the directory when its filesystem cannot hold what the build will write there; needs
 *  on one filesystem add up. */
export function assertFreeSpace(needs: SpaceNeed[]): void {
  const byFs = new Map<number, { dir: string; bytes: number; what: string[] }>();
  for (const n of needs) {
    const dev = statSync(n.dir).dev;
    const e = byFs.get(dev) ?? { dir: n.dir, bytes: 0, what: [] };
    e.bytes += n.bytes;
    e.what.push(n.what);
    byFs.set(dev, e);
  }
  for (const e of byFs.values()) {
    const fs = statfsSync(e.dir);
    const free = fs.bavail * fs.bsize;
    if (free < e.bytes) {
      throw new PibakeError('tool', 'E_SPACE', `not enough free space in ${e.dir}: ${gib(free)} free, the build needs about ${gib(e.bytes)} there (${e.what.join(' + ')})`,
        'free space there, or put the working copy (PIBAKE_CACHE) or the image (--out) on a bigger disk');
    }
  }
}

/** What a build writes, from the base image's allocated size: the working copy grows by the definition's extra
 *  space plus packages and the chat server bundle (1 GiB allowed); xz output stays under half of the used data. */
export function buildSpaceNeeds(baseImage: string, extraSpaceMb: number, workDir: string, outDir: string): SpaceNeed[] {
  const used = statSync(baseImage).blocks * 512 + extraSpaceMb * 2 ** 20;
  return [
    { dir: workDir, bytes: used + 2 ** 30, what: 'working copy of the image' },
    { dir: outDir, bytes: Math.ceil(used / 2), what: 'compressed image' },
  ];
}
