// Downloads a base image with progress and resume (HTTP Range), checks its sha256, caches it by digest.
import { closeSync, createWriteStream, existsSync, mkdirSync, openSync, readSync, renameSync, statSync, unlinkSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { pipeline } from 'node:stream/promises';
import path from 'node:path';
import { PibakeError } from '../errors.ts';
import { sha256File } from '../host/hash.ts';
import { httpGet } from '../host/http-get.ts';
import { cacheDir } from '../paths.ts';
import type { Reporter } from '../reporter.ts';

/** The archive format of a file from its first bytes (names lie: a "latest" URL has no extension at all). */
export function formatOf(file: string): '.img' | '.img.xz' | '.zip' {
  const fd = openSync(file, 'r');
  const head = Buffer.alloc(6);
  try {
    readSync(fd, head, 0, 6, 0);
  } finally {
    closeSync(fd);
  }
  if (head.equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return '.img.xz';
  if (head.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]))) return '.zip';
  return '.img';
}

export function extensionOf(name: string): '.img' | '.img.xz' | '.zip' {
  const n = name.toLowerCase().replace(/[?#].*$/, '');
  if (n.endsWith('.img.xz') || n.endsWith('.xz')) return '.img.xz';
  if (n.endsWith('.zip')) return '.zip';
  return '.img';
}

/** idleMs: how long a silent connection is waited for before it is dropped and the download resumed. */
export async function download(url: string, sha256: string, reporter: Reporter, signal?: AbortSignal, idleMs = 60_000): Promise<string> {
  const dir = cacheDir('downloads');
  mkdirSync(dir, { recursive: true });
  const final = path.join(dir, `${sha256}${extensionOf(new URL(url).pathname)}`);
  if (existsSync(final)) {
    reporter.info(`base: download cached (${path.basename(final)})`);
    return final;
  }
  const part = `${final}.part`;
  for (let attempt = 1; ; attempt++) {
    const have = existsSync(part) ? statSync(part).size : 0;
    let res: IncomingMessage;
    try {
      res = await httpGet(url, have ? { Range: `bytes=${have}-` } : {}, signal, idleMs);
    } catch (e: any) {
      if (attempt < 4 && !signal?.aborted) continue;
      throw new PibakeError('tool', 'E_DOWNLOAD', `cannot download ${url}: ${e.code ?? e.message}`, 'check the URL and the network; a rerun resumes where it stopped');
    }
    const status = res.statusCode ?? 0;
    if (status === 416 && have) {
      res.resume();
      break; // already complete
    }
    if (status < 200 || status > 299) {
      res.resume();
      // the URL is wrong (bad input, exit 2) or the server is (exit 1)
      throw new PibakeError(status >= 400 && status < 500 ? 'config' : 'tool', 'E_DOWNLOAD', `cannot download ${url}: HTTP ${status}`, 'check the URL in base.url');
    }
    const resumed = status === 206 && have > 0;
    if (have && !resumed) unlinkSync(part);
    const start = resumed ? have : 0;
    const total = Number(res.headers['content-length'] ?? 0) + start || undefined;
    if (resumed) reporter.info(`base: resuming download at ${(start / 1048576).toFixed(1)} MiB`);
    let done = start;
    res.on('data', (c: Buffer) => {
      done += c.length;
      reporter.progress('download', done, total);
    });
    try {
      await pipeline(res, createWriteStream(part, { flags: resumed ? 'a' : 'w' }));
      break;
    } catch (e: any) {
      if (signal?.aborted || attempt >= 4) throw new PibakeError('tool', 'E_DOWNLOAD', `download of ${url} broke off: ${e.message}`, 'run the build again: it resumes');
      reporter.warn(`download broke off (${e.message}); resuming`);
    }
  }
  const digest = await sha256File(part);
  if (digest !== sha256) {
    unlinkSync(part);
    throw new PibakeError('config', 'E_DIGEST', `sha256 of ${url} is ${digest}, the definition says ${sha256}`, 'fix base.sha256 (or the URL); the partial file was removed');
  }
  renameSync(part, final);
  return final;
}
