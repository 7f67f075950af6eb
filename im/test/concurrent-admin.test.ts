// The admin CLI writing (another process) while the server commits a burst: no frame fails, every message is stored.
import { describe, it, expect, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startTestServer, addUsers, admin, NODE, IM_DIR, type TestServer } from './helpers.ts';
import { login, register, ImConnection } from '../src/client.ts';

let srv: TestServer;
afterAll(async () => { await srv?.stop(); });

/** Runs the admin CLI without blocking this process (the client keeps sending meanwhile). */
function adminAsync(args: string[]): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const p = spawn(NODE, [join(IM_DIR, 'src/admin-main.ts'), '--config', srv.configFile, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('admin CLI against a running server', () => {
  it('invites create / groups rename / register during a message burst: no error frame, every message acked and stored', async () => {
    srv = await startTestServer({ limits: { messages_per_second: 100000, message_burst: 100000 }, storage: { commit_window_ms: 5 } });
    addUsers(srv, ['ada', 'ben']);
    const group = admin(srv, ['groups', 'create', 'g0', 'ada', 'ben']).stdout.match(/created group (\d+)/)![1];
    const ada = await ImConnection.connect(srv.wsUrl, (await login(srv.url, 'ada', 'pw')).token);
    const conv = (await ada.direct('ben')).conv;
    const errors: any[] = [];
    ada.on('error', (f) => errors.push(f));

    let adminDone = false;
    const adminResults: { code: number | null; stderr: string }[] = [];
    const registered: string[] = [];
    const adminLoop = (async () => {
      // three loops at once, so that CLI commits overlap each other and the server's batches
      await Promise.all([0, 1, 2].map(async (loop) => {
        for (let i = 0; i < 8; i++) {
          const inv = await adminAsync(['invites', 'create']);
          adminResults.push(inv);
          const ren = await adminAsync(['groups', 'rename', group, `g${loop}-${i}`]);
          adminResults.push(ren);
          if (inv.code === 0) {
            const name = `r${loop}x${i}`;
            registered.push(await register(srv.url, name, 'pw-long-enough', inv.stdout.trim()).then(() => name, (err) => String(err)));
          }
        }
      }));
      adminDone = true;
    })();

    // a steady stream (a few messages every 2 ms) for as long as the admin loops write
    const acks: Promise<{ ok: boolean; value: any }>[] = [];
    let n = 0;
    while (!adminDone || n < 200) {
      for (let k = 0; k < 2; k++, n++) acks.push(ada.send(conv, `m${n}`, `c${n}`).then((value) => ({ ok: true, value }), (err) => ({ ok: false, value: String(err) })));
      await new Promise((r) => setTimeout(r, 2));
    }
    await adminLoop;
    const settled = await Promise.all(acks);
    const failed = settled.filter((s) => !s.ok).map((s) => s.value);

    expect(adminResults.filter((r) => r.code !== 0)).toEqual([]);
    expect(failed.slice(0, 3)).toEqual([]);
    expect(errors).toEqual([]);
    expect(registered.filter((r) => !/^r\dx\d$/.test(r))).toEqual([]);
    expect(registered).toHaveLength(24);
    const seqs = settled.map((s) => s.value.seq);
    expect(seqs).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(srv.output()).not.toMatch(/database is locked|failed/);
    ada.close();

    // every acked message is in the database file, and the last rename won
    expect(await srv.stop()).toBe(0);
    const db = new Database(join(srv.dir, 'data', 'pibake-im.db'), { readonly: true });
    try {
      expect(db.prepare('SELECT count(*) FROM messages WHERE conv_id = ?').pluck().get(conv)).toBe(n);
      expect(db.prepare('SELECT count(*) FROM users').pluck().get()).toBe(2 + 24);
      expect(db.prepare('SELECT name FROM conversations WHERE id = ?').pluck().get(Number(group))).toMatch(/^g\d-7$/);
    } finally { db.close(); }
  }, 120000);
});
