// Creates and checks an output directory before any work starts: one component at a time, so a path that can
// never exist (e.g. under /proc, where recursive mkdir loops forever) fails at once with one clear line.
import { mkdirSync, rmdirSync, statSync, writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';

/** The directories of `dir`'s path that do not exist yet, outermost first (what prepareOutputDir will create). */
export function missingDirs(dir: string): string[] {
  const missing: string[] = [];
  for (let cur = path.resolve(dir); ; cur = path.dirname(cur)) {
    try {
      statSync(cur);
      break;
    } catch {
      missing.unshift(cur);
    }
    if (cur === path.dirname(cur)) break;
  }
  return missing;
}

/** Removes the directories a failed run created, innermost first, as long as they are empty. */
export function removeIfEmpty(dirs: string[]): void {
  for (const d of [...dirs].reverse()) {
    try {
      rmdirSync(d);
    } catch {
      return; // not empty (or gone): leave it and everything above it
    }
  }
}

/** Throws `fail(what)` when `dir` cannot be made into a writable directory; returns the absolute path. */
export function prepareOutputDir(dir: string, fail: (what: string) => Error): string {
  const abs = path.resolve(dir);
  const parts = abs.split(path.sep).filter(Boolean);
  let cur: string = path.sep;
  for (const part of parts) {
    cur = path.join(cur, part);
    let st;
    try { st = statSync(cur); } catch (err: any) {
      if (err?.code !== 'ENOENT') throw fail(`${cur}: ${err?.code ?? err}`);
      try { mkdirSync(cur); } catch (e: any) { if (e?.code !== 'EEXIST') throw fail(`cannot create ${cur} (${e?.code ?? e})`); }
      continue;
    }
    if (!st.isDirectory()) throw fail(`${cur} exists and is not a directory`);
  }
  const probe = path.join(abs, `.pibake-write-test-${process.pid}`);
  try { writeFileSync(probe, ''); } catch (e: any) { throw fail(`cannot write files in ${abs} (${e?.code ?? e})`); }
  rmSync(probe, { force: true });
  return abs;
}
