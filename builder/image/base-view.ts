// A read-only view of a base image's root filesystem through debugfs (no mount, no loop device, no root needed).
import { execFileSync } from 'node:child_process';
import type { BaseView } from '../stage.ts';
import { parseSfdiskJson, type PiLayout } from './partitions.ts';
import { PibakeError } from '../errors.ts';

function parseLayoutFromImage(image: string): string {
  return execFileSync('sfdisk', ['--json', image], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

/** A base image's Pi OS layout read on the host, or one config error naming `what` (the definition field or file). */
export function readBaseLayout(image: string, what: string): PiLayout {
  let table: string;
  try {
    table = parseLayoutFromImage(image);
  } catch {
    throw new PibakeError('config', 'E_LAYOUT', `${what}: not a disk image (sfdisk finds no partition table)`, 'give a Raspberry Pi OS Lite image (.img, .img.xz or .zip) and its sha256');
  }
  return parseSfdiskJson(table, what);
}

export function debugfsView(image: string, layout: PiLayout): BaseView {
  const dev = `${image}?offset=${layout.root.start * layout.sectorSize}`;
  const cat = (p: string): string | undefined => {
    try {
      const out = execFileSync('debugfs', ['-R', `cat ${p}`, dev], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
      return out;
    } catch {
      return undefined;
    }
  };
  const stat = (p: string): boolean => {
    try {
      const out = execFileSync('debugfs', ['-R', `stat ${p}`, dev], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      return /Inode:/.test(out);
    } catch {
      return false;
    }
  };
  return { readFile: (p) => (stat(p) ? cat(p) : undefined), exists: stat };
}
