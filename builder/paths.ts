// Where pibake keeps its caches and finds its own files.
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Cache root: $PIBAKE_CACHE, else $XDG_CACHE_HOME/pibake, else ~/.cache/pibake. */
export function cacheRoot(): string {
  if (process.env.PIBAKE_CACHE) return path.resolve(process.env.PIBAKE_CACHE);
  const xdg = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(xdg, 'pibake');
}

export function cacheDir(...parts: string[]): string {
  return path.join(cacheRoot(), ...parts);
}

export const builderVersion: string = '0.1.0';
