// What a build must never leave behind: containers, loop devices, mounts, temp dirs and partial outputs.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { cacheDir } from '../../builder/paths.ts';

export function leftovers(outDir?: string): string[] {
  const found: string[] = [];
  const containers = execFileSync('docker', ['ps', '-a', '--filter', 'label=io.pibake.build', '--format', '{{.Names}}'], { encoding: 'utf8' }).trim();
  if (containers) found.push(`containers: ${containers}`);
  const loops = execFileSync('losetup', ['-a'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes('pibake') || l.includes('work.img'));
  if (loops.length) found.push(`loop devices: ${loops.join('; ')}`);
  const mounts = execFileSync('cat', ['/proc/mounts'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes('pibake'));
  if (mounts.length) found.push(`mounts: ${mounts.join('; ')}`);
  const builds = cacheDir('builds');
  if (existsSync(builds) && readdirSync(builds).length) found.push(`build dirs: ${readdirSync(builds).join(', ')}`);
  if (outDir && existsSync(outDir)) {
    const partial = readdirSync(outDir).filter((f) => f.includes('.partial-'));
    if (partial.length) found.push(`partial outputs: ${partial.join(', ')}`);
  }
  return found;
}
