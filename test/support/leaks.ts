// What a build must never leave behind: its containers, loop devices, mounts, temp dirs and partial outputs.
// Scoped to one build (its pid and image name), so another build running on the same machine is not counted.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { cacheDir } from '../../builder/paths.ts';
import { containerLabel } from '../../builder/container/build-container.ts';

export function leftovers(build: { pid: number; name: string; outDir?: string }): string[] {
  const found: string[] = [];
  const containers = execFileSync('docker', ['ps', '-a', '--filter', `label=${containerLabel}`, '--filter', `label=io.pibake.pid=${build.pid}`, '--format', '{{.Names}}'], { encoding: 'utf8' }).trim();
  if (containers) found.push(`containers: ${containers}`);
  const mine = (l: string) => l.includes(`/builds/${build.name}-`);
  const loops = execFileSync('losetup', ['-a'], { encoding: 'utf8' }).split('\n').filter(mine);
  if (loops.length) found.push(`loop devices: ${loops.join('; ')}`);
  const mounts = execFileSync('cat', ['/proc/mounts'], { encoding: 'utf8' }).split('\n').filter(mine);
  if (mounts.length) found.push(`mounts: ${mounts.join('; ')}`);
  const builds = cacheDir('builds');
  const dirs = existsSync(builds) ? readdirSync(builds).filter((d) => d.startsWith(`${build.name}-${build.pid}-`)) : [];
  if (dirs.length) found.push(`build dirs: ${dirs.join(', ')}`);
  const base = cacheDir('base');
  const temps = existsSync(base) ? readdirSync(base).filter((d) => d.endsWith(`.tmp-${build.pid}`)) : [];
  if (temps.length) found.push(`base temp dirs: ${temps.join(', ')}`);
  if (build.outDir && existsSync(build.outDir)) {
    const partial = readdirSync(build.outDir).filter((f) => f.includes('.partial-'));
    if (partial.length) found.push(`partial outputs: ${partial.join(', ')}`);
  }
  return found;
}
