// Test helpers: start a real pibake-im server process on a temp data dir, run admin CLI commands, wait for things.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll } from 'vitest';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer } from 'node:net';
import { stringify } from 'yaml';

export const IM_DIR = resolve(import.meta.dirname, '..');
export const NODE = process.execPath;

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => { const p = (srv.address() as any).port; srv.close(() => res(p)); });
    srv.on('error', rej);
  });
}

export interface TestServer {
  dir: string; configFile: string; port: number; url: string; wsUrl: string;
  proc: ChildProcess; output: () => string;
  start(): Promise<void>; stop(): Promise<number | null>; kill9(): Promise<void>;
}

export async function waitFor<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try { const v = await fn(); if (v) return v as T; } catch { /* retry */ }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Creates a temp dir + config and starts `src/server-main.ts` (or `command`) on a free port. */
// every test server's directory goes when its test file is done (after the file's own afterAll stopped the servers)
const testDirs: string[] = [];
afterAll(() => { for (const d of testDirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

export async function startTestServer(extra: Record<string, any> = {}, command?: string[]): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'pibake-im-test-'));
  testDirs.push(dir);
  const port = await freePort();
  const config = {
    listen: { address: '127.0.0.1', port },
    data_dir: join(dir, 'data'), log_dir: join(dir, 'log'),
    backup: { dir: join(dir, 'backups'), retention: 3 },
    logging: { level: 'warn' }, threading: { max_threads: 4 },
    ...extra,
  };
  const configFile = join(dir, 'config.yaml');
  writeFileSync(configFile, stringify(config));
  let out = '';
  const srv: TestServer = {
    dir, configFile, port, url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}/ws`,
    proc: null as any, output: () => out,
    async start() {
      const cmd = command ?? [NODE, join(IM_DIR, 'src/server-main.ts')];
      srv.proc = spawn(cmd[0], [...cmd.slice(1), '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
      srv.proc.stdout!.on('data', (d) => (out += d));
      srv.proc.stderr!.on('data', (d) => (out += d));
      const exited = new Promise((r) => srv.proc.once('exit', r));
      await Promise.race([
        waitFor(async () => (await fetch(`${srv.url}/healthz`)).ok, 60000, 'server /healthz'),
        exited.then(() => { throw new Error(`server exited: ${out}`); }),
      ]);
    },
    stop() {
      return new Promise((r) => {
        if (srv.proc.exitCode !== null) return r(srv.proc.exitCode);
        srv.proc.once('exit', (code) => r(code));
        srv.proc.kill('SIGTERM');
      });
    },
    kill9() {
      return new Promise((r) => { srv.proc.once('exit', () => r()); srv.proc.kill('SIGKILL'); });
    },
  };
  await srv.start();
  return srv;
}

/** Runs the admin CLI synchronously against the server's config. */
export function admin(srv: { configFile: string }, args: string[], stdin = ''): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(NODE, [join(IM_DIR, 'src/admin-main.ts'), '--config', srv.configFile, ...args], { input: stdin, encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function addUsers(srv: TestServer, names: string[], password = 'pw'): void {
  for (const n of names) {
    const r = admin(srv, ['users', 'add', n], password);
    if (r.code !== 0) throw new Error(r.stderr);
  }
}

/** Collects frames of a type pushed on a connection. */
export function collect(conn: { on(t: string, h: (f: any) => void): () => void }, type: string): any[] {
  const list: any[] = [];
  conn.on(type, (f) => list.push(f));
  return list;
}
