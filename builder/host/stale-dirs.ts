// Finds work and cache-temp directories left by a pibake run that was killed (kill -9, a closed terminal) and removes them.
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

/** True when a process with this pid exists (ours or anyone's: a reused pid keeps its directory, harmlessly). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the entries of `dir` whose name carries the pid of a run that is gone: `pidOf` returns that pid, or
 * undefined for names that are not such directories. Returns the names removed.
 */
export function removeStaleDirs(dir: string, pidOf: (name: string) => number | undefined): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const pid = pidOf(name);
    if (pid === undefined || pid === process.pid || pidAlive(pid)) continue;
    rmSync(path.join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

/** A build's work directory: `<image name>-<pid>-<random>` (see build.ts). */
export const buildWorkPid = (name: string): number | undefined => {
  const m = /-(\d+)-[A-Za-z0-9]{6}$/.exec(name);
  return m ? Number(m[1]) : undefined;
};

/** A cache entry being filled: `<entry>.tmp-<pid>` (see cache-entry.ts). */
export const cacheTempPid = (name: string): number | undefined => {
  const m = /\.tmp-(\d+)$/.exec(name);
  return m ? Number(m[1]) : undefined;
};
