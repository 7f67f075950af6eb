// Lists the file names in an initramfs: concatenated newc cpio archives, uncompressed or zstd/gzip/xz-compressed.
import { execFileSync } from 'node:child_process';

function parseNewc(buf: Buffer, start: number, names: string[]): number {
  let off = start;
  for (;;) {
    if (buf.toString('latin1', off, off + 6) !== '070701') throw new Error(`no cpio header at ${off}`);
    const field = (i: number) => parseInt(buf.toString('latin1', off + 6 + i * 8, off + 14 + i * 8), 16);
    const fileSize = field(6);
    const nameSize = field(11);
    const name = buf.toString('utf8', off + 110, off + 110 + nameSize - 1);
    off = (off + 110 + nameSize + 3) & ~3;
    off = (off + fileSize + 3) & ~3;
    if (name === 'TRAILER!!!') return off;
    names.push(name);
  }
}

export function listInitramfs(data: Buffer): string[] {
  const names: string[] = [];
  let off = 0;
  while (off < data.length) {
    while (off < data.length && data[off] === 0) off++;
    if (off >= data.length) break;
    if (data.toString('latin1', off, off + 6) === '070701') {
      off = parseNewc(data, off, names);
      continue;
    }
    const rest = data.subarray(off);
    const magic = rest.subarray(0, 4).toString('hex');
    const tool = magic === '28b52ffd' ? 'zstd' : magic.startsWith('1f8b') ? 'gzip' : magic.startsWith('fd377a58') ? 'xz' : undefined;
    if (!tool) throw new Error(`unknown initramfs section at ${off} (magic ${magic})`);
    const inner = execFileSync(tool, ['-dc'], { input: rest, maxBuffer: 1 << 30 });
    parseNewc(inner, 0, names);
    break;
  }
  return names;
}
