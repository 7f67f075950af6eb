// mkdir -p that creates one component at a time: on filesystems where no directory can be made (/proc, /sys)
// Node's recursive mkdir loops forever; this fails at once naming the component.
import { mkdirSync, statSync } from 'node:fs';
import { resolve, sep, join } from 'node:path';

export function makeDirs(dir: string, mode = 0o750): void {
  let cur: string = sep;
  for (const part of resolve(dir).split(sep).filter(Boolean)) {
    cur = join(cur, part);
    let isDir: boolean;
    try { isDir = statSync(cur).isDirectory(); } catch {
      try { mkdirSync(cur, { mode }); continue; } catch (err: any) {
        if (err?.code === 'EEXIST') continue;
        throw new Error(`cannot create directory ${cur} (${err?.code ?? err})`);
      }
    }
    if (!isDir) throw new Error(`${cur} is not a directory`);
  }
}
