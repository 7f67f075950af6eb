// Downloads against real local HTTP servers: resume with Range after a broken connection, redirects, an HTTP/1.0 server, digest check.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { download } from '../../builder/base/download.ts';
import { createReporter } from '../../builder/reporter.ts';
import { PibakeError } from '../../builder/errors.ts';
import { tempDir } from '../support/temp-dir.ts';

const body = randomBytes(3 << 20);
const moved = randomBytes(1 << 20); // served at /second.img, reached through a redirect from /moved
const movedDigest = createHash('sha256').update(moved).digest('hex');
const stalled = randomBytes(1 << 20);
const digest = createHash('sha256').update(body).digest('hex');
const ranges: string[] = [];
let breakFirst = true;
let server: http.Server;
let base: string;

beforeAll(async () => {
  process.env.PIBAKE_CACHE = tempDir('pibake-cache-');
  server = http.createServer((req, res) => {
    if (req.url === '/moved') return void res.writeHead(302, { location: '/second.img' }).end();
    if (req.url === '/stall.img') {
      // the first answer stalls after 256 KiB and never ends; the resumed one sends the rest
      const from = req.headers.range ? Number(/bytes=(\d+)-/.exec(req.headers.range)![1]) : 0;
      res.writeHead(from ? 206 : 200, { 'content-length': stalled.length - from });
      if (from) return void res.end(stalled.subarray(from));
      return void res.write(stalled.subarray(0, 256 << 10));
    }
    if (req.url === '/gone.img') return void res.writeHead(404).end();
    if (req.url === '/second.img') return void res.writeHead(200, { 'content-length': moved.length }).end(moved);
    const range = req.headers.range;
    ranges.push(range ?? 'none');
    const start = range ? Number(/bytes=(\d+)-/.exec(range)![1]) : 0;
    res.writeHead(range ? 206 : 200, { 'content-length': body.length - start, ...(range ? { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}) });
    if (breakFirst) {
      breakFirst = false;
      res.write(body.subarray(start, start + (1 << 20)), () => res.destroy());
      return;
    }
    res.end(body.subarray(start));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => server.close());

describe('download', () => {
  it('resumes after a broken connection with a Range request and checks the digest', async () => {
    const file = await download(`${base}/raspios.img.xz`, digest, createReporter({ quiet: true }));
    expect(path.basename(file)).toBe(`${digest}.img.xz`);
    expect(createHash('sha256').update(readFileSync(file)).digest('hex')).toBe(digest);
    expect(ranges[0]).toBe('none');
    expect(ranges[1]).toMatch(/^bytes=\d+-$/);
    expect(Number(ranges[1]!.slice(6, -1))).toBeGreaterThan(0);
  });

  it('uses the cache the second time (no request)', async () => {
    const n = ranges.length;
    await download(`${base}/raspios.img.xz`, digest, createReporter({ quiet: true }));
    expect(ranges.length).toBe(n);
  });

  it('follows a redirect to the file (download sites send you to a mirror)', async () => {
    const file = await download(`${base}/moved`, movedDigest, createReporter({ quiet: true }));
    expect(createHash('sha256').update(readFileSync(file)).digest('hex')).toBe(movedDigest);
  });

  it("an HTTP/1.0 server that closes the connection after the body (python's http.server): the whole file, every time", async () => {
    const dir = tempDir('pibake-http10-');
    const files = [0, 1, 2].map((i) => {
      const data = randomBytes((4 << 20) + i);
      writeFileSync(path.join(dir, `f${i}.img`), data);
      return { name: `f${i}.img`, digest: createHash('sha256').update(data).digest('hex') };
    });
    const py = spawn('python3', ['-m', 'http.server', '--bind', '127.0.0.1', '0'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        py.stdout.on('data', (d) => { const m = /port (\d+)/.exec(String(d)); if (m) resolve(Number(m[1])); });
        py.on('exit', () => reject(new Error('python3 -m http.server exited')));
      });
      for (const f of files) {
        const got = await download(`http://127.0.0.1:${port}/${f.name}`, f.digest, createReporter({ quiet: true }));
        expect(createHash('sha256').update(readFileSync(got)).digest('hex')).toBe(f.digest);
      }
    } finally {
      py.kill();
    }
  });

  it('a connection that goes silent mid-body is dropped after the idle time and the download resumes', async () => {
    const want = createHash('sha256').update(stalled).digest('hex');
    const file = await download(`${base}/stall.img`, want, createReporter({ quiet: true }), undefined, 300);
    expect(createHash('sha256').update(readFileSync(file)).digest('hex')).toBe(want);
  });

  it('a 404 is bad input (exit 2) naming the URL', async () => {
    const err = await download(`${base}/gone.img`, 'e'.repeat(64), createReporter({ quiet: true })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PibakeError);
    expect([(err as PibakeError).exitCode, (err as PibakeError).message]).toEqual([2, `cannot download ${base}/gone.img: HTTP 404`]);
  });

  it('rejects a wrong digest with a config error and keeps no partial file', async () => {
    const wrong = 'f'.repeat(64);
    await expect(download(`${base}/other.img`, wrong, createReporter({ quiet: true }))).rejects.toThrow(PibakeError);
    const dir = path.join(process.env.PIBAKE_CACHE!, 'downloads');
    expect(readdirSync(dir).filter((f) => f.startsWith('fff'))).toEqual([]);
    expect(existsSync(path.join(dir, `${wrong}.img.part`))).toBe(false);
  });
});

describe('archive format', () => {
  it('is read from the first bytes, not the name', async () => {
    const { formatOf } = await import('../../builder/base/download.ts');
    const dir = tempDir('pibake-fmt-');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path.join(dir, 'latest'), Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2]));
    writeFileSync(path.join(dir, 'image.img.xz'), Buffer.from('PK\x03\x04rest'));
    writeFileSync(path.join(dir, 'raw'), Buffer.alloc(512));
    expect([formatOf(path.join(dir, 'latest')), formatOf(path.join(dir, 'image.img.xz')), formatOf(path.join(dir, 'raw'))]).toEqual(['.img.xz', '.zip', '.img']);
  });
});
