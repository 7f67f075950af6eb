// A read-only view of a base image's root filesystem through debugfs (no mount, no loop device, no root needed).
import { execFileSync } from 'node:child_process';
import type { BaseView } from '../stage.ts';
import type { PiLayout } from './partitions.ts';

export function parseLayoutFromImage(image: string): string {
  return execFileSync('sfdisk', ['--json', image], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
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
