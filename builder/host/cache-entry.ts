// Fills a cache directory atomically: work in <dir>.tmp-<pid>, rename into place; the temp goes on any failure.
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { CleanupStack } from '../cleanup.ts';
import type { Reporter } from '../reporter.ts';

export async function fillCacheDir(dir: string, title: string, reporter: Pick<Reporter, 'step'>, cleanups: CleanupStack, fill: (tmp: string) => Promise<void>): Promise<void> {
  mkdirSync(path.dirname(dir), { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const removeTmp = cleanups.push(`remove ${tmp}`, () => rmSync(tmp, { recursive: true, force: true }));
  const step = reporter.step(title);
  try {
    await fill(tmp);
    rmSync(dir, { recursive: true, force: true });
    try {
      renameSync(tmp, dir);
    } catch (e) {
      if (!existsSync(dir)) throw e; // another process filled it between our rm and rename: theirs is as good
    }
  } catch (e) {
    step.fail();
    throw e;
  } finally {
    await removeTmp();
  }
  step.done();
}
