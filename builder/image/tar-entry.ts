// Builds a one-file tar stream (tar-stream) for writing a file into the mounted image with its mode and owner.
import { pack } from 'tar-stream';
import type { Readable } from 'node:stream';

export function singleFileTar(name: string, content: Buffer, mode: number, uid: number, gid: number): Readable {
  const p = pack();
  p.entry({ name: name.replace(/^\/+/, ''), mode, uid, gid, mtime: new Date(), type: 'file' }, content);
  p.finalize();
  return p as unknown as Readable;
}
