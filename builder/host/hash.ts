// Hashing helpers: sha256 of files (streamed) and of directory trees, for cache keys and output checksums.
import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 4 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** sha256 over the relative paths and contents of every file under the given roots (skipping node_modules). */
export function sha256Tree(roots: string[], base: string): string {
  const h = createHash('sha256');
  const walk = (p: string) => {
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const n of readdirSync(p).sort()) if (n !== 'node_modules' && n !== 'dist' && !n.startsWith('.')) walk(path.join(p, n));
    } else if (st.isFile()) {
      h.update(path.relative(base, p)).update('\0').update(readFileSync(p)).update('\0');
    }
  };
  for (const r of roots) walk(r);
  return h.digest('hex');
}
