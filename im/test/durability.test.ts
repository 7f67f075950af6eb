// kill -9 during a burst loses no acked message and reuses no sequence; an ack leaves only after the WAL fdatasync
// (traced with strace); backup then restore gives back the same messages.
import { describe, it, expect, afterAll } from 'vitest';
import { readdirSync, statSync, readFileSync, readlinkSync, writeFileSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { startTestServer, addUsers, admin, waitFor, NODE, IM_DIR, type TestServer } from './helpers.ts';
import { login, ImConnection } from '../src/client.ts';

const servers: TestServer[] = [];
afterAll(async () => { for (const s of servers) await s.stop(); });

async function allMessages(srv: TestServer, user: string): Promise<any[]> {
  const { token } = await login(srv.url, user, 'pw');
  const got: any[] = [];
  let done = false;
  const c = await ImConnection.connect(srv.wsUrl, token, {
    cursor: 0,
    setup: (conn) => { conn.on('sync', (f) => got.push(...f.messages)); conn.on('synced', () => { done = true; }); },
  });
  await waitFor(() => done, 20000, 'sync');
  c.close();
  return got;
}

describe('durability', () => {
  it('every acked message survives kill -9 in the middle of a burst; sequences are never reused', async () => {
    const srv = await startTestServer({ limits: { messages_per_second: 100000, message_burst: 100000 } });
    servers.push(srv);
    const names = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6'];
    addUsers(srv, names);
    const conns = await Promise.all(names.map(async (n) => ImConnection.connect(srv.wsUrl, (await login(srv.url, n, 'pw')).token)));
    const group = await conns[0].createGroup('all', names.slice(1));
    const acked: { client_id: string; seq: number }[] = [];
    let attempted = 0;
    // every client pipelines sends without waiting; the server is killed while they are in flight
    const senders = conns.map(async (c, i) => {
      for (let k = 0; k < 100000; k++) {
        attempted++;
        const batch = Array.from({ length: 20 }, (_, j) => c.send(group.conv, `burst ${i}/${k}/${j}`, `k-${i}-${k}-${j}`)
          .then((a) => { acked.push({ client_id: a.client_id, seq: a.seq }); }, () => {}));
        await Promise.all(batch);
        if (c.ws.readyState !== 1) return;
      }
    });
    await waitFor(() => acked.length > 3000, 30000, 'acks');
    await srv.kill9();
    await Promise.all(senders);
    const ackedCount = acked.length;
    expect(ackedCount).toBeGreaterThan(3000);

    await srv.start();
    const stored = await allMessages(srv, 'u2');
    const byClient = new Map(stored.map((m) => [m.client_id, m]));
    const missing = acked.filter((a) => byClient.get(a.client_id)?.seq !== a.seq);
    expect(missing).toEqual([]);
    const seqs = stored.filter((m) => m.conv === group.conv).map((m) => m.seq);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    // after restart new messages continue after the last stored sequence
    const c = await ImConnection.connect(srv.wsUrl, (await login(srv.url, 'u1', 'pw')).token);
    const next = await c.send(group.conv, 'after restart', 'after-1');
    expect(next.seq).toBe(seqs.length + 1);
    // a resend of an acked message after the crash is still recognised
    const again = await c.send(group.conv, 'dup', acked.find((a) => a.client_id.startsWith('k-0-'))!.client_id);
    expect(again.duplicate).toBe(true);
    c.close();
    expect(admin(srv, ['check']).stdout.trim()).toBe('ok');
  }, 90000);

  it('acknowledges a message only after its commit was fdatasync-ed from the threadpool (strace)', async () => {
    const dir = `/tmp/pibake-im-strace-${process.pid}`;
    const trace = `${dir}.trace`;
    const srv = await startTestServer({}, ['strace', '-f', '-qq', '-ttt', '-s', '120', '-e', 'trace=pwrite64,fdatasync,write,writev', '-o', trace, NODE, join(IM_DIR, 'src/server-main.ts')]);
    servers.push(srv);
    addUsers(srv, ['ann', 'ben']);
    const ann = await ImConnection.connect(srv.wsUrl, (await login(srv.url, 'ann', 'pw')).token);
    const conv = await ann.direct('ben');
    const server = Number(execFileSync('pgrep', ['-P', String(srv.proc.pid)], { encoding: 'utf8' }).trim().split('\n')[0]);
    const fds = readdirSync(`/proc/${server}/fd`);
    const walFds = fds.filter((fd) => { try { return readlinkSync(`/proc/${server}/fd/${fd}`).endsWith('pibake-im.db-wal'); } catch { return false; } });
    expect(walFds.length).toBeGreaterThan(0);
    const ack = await ann.send(conv.conv, 'traced', 'trace-1');
    expect(ack.duplicate).toBe(false);
    ann.close();
    process.kill(server, 'SIGTERM');
    await srv.stop();
    const lines = readFileSync(trace, 'utf8').split('\n');
    const ackAt = lines.findIndex((l) => /write.*\\"type\\":\\"ack\\".*trace-1/.test(l));
    expect(ackAt, 'the ack frame is in the trace').toBeGreaterThan(0);
    const onWal = (l: string, call: string) => walFds.some((fd) => l.includes(`${call}(${fd},`) || l.includes(`${call}(${fd})`) || l.includes(`${call}(${fd} `));
    const lastWalWrite = lines.slice(0, ackAt).findLastIndex((l) => onWal(l, 'pwrite64'));
    expect(lastWalWrite, 'the commit wrote WAL frames before the ack').toBeGreaterThan(0);
    // the fdatasync of the WAL must have RETURNED (its own line or its "resumed" line) between the write and the ack
    const between = lines.slice(lastWalWrite + 1, ackAt);
    const pid = (l: string) => l.split(/\s+/)[0];
    const syncStarts = between.filter((l) => onWal(l, 'fdatasync'));
    expect(syncStarts.length, 'fdatasync(wal) issued after the commit').toBeGreaterThan(0);
    const finished = between.some((l) => (onWal(l, 'fdatasync') && / = 0$/.test(l)) || (/<\.\.\. fdatasync resumed>.* = 0$/.test(l) && syncStarts.some((s) => pid(s) === pid(l))));
    expect(finished, 'fdatasync(wal) returned before the ack was written').toBe(true);
    // and the sync ran on another thread than the one writing to the socket
    expect(syncStarts.some((l) => pid(l) !== pid(lines[ackAt]))).toBe(true);
    rmSync(trace, { force: true });
  }, 60000);

  it('SIGTERM lets a login that is under way finish and answer before the server exits', async () => {
    const srv = await startTestServer();
    servers.push(srv);
    addUsers(srv, ['ann']);
    const body = JSON.stringify({ name: 'ann', password: 'pw' });
    const { request } = await import('node:http');
    const req = request(`${srv.url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } });
    const answer = new Promise<{ status?: number; text: string }>((resolve, reject) => {
      req.on('response', (res) => { let text = ''; res.on('data', (d) => (text += d)); res.on('end', () => resolve({ status: res.statusCode, text })); });
      req.on('error', reject);
    });
    req.write(body.slice(0, 10)); // the request is in the server's hands, its body still coming
    await new Promise((r) => setTimeout(r, 300));
    const exited = srv.stop();
    await new Promise((r) => setTimeout(r, 200));
    req.end(body.slice(10));
    const res = await answer;
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text).token).toMatch(/^\S{20,}$/);
    expect(await exited).toBe(0);
  }, 30000);

  it('backup (online) then restore gives back the same messages; old backups are pruned', async () => {
    const srv = await startTestServer();
    servers.push(srv);
    addUsers(srv, ['ann', 'ben']);
    const ann = await ImConnection.connect(srv.wsUrl, (await login(srv.url, 'ann', 'pw')).token);
    const conv = await ann.direct('ben');
    for (let i = 0; i < 30; i++) await ann.send(conv.conv, `before backup ${i}`, `b-${i}`);
    for (let i = 0; i < 4; i++) {
      const r = admin(srv, ['backup']);
      expect(r.code, r.stderr).toBe(0);
      await new Promise((res) => setTimeout(res, 5));
    }
    // backups at the same moment (the 02:00 cron and a manual one) do not remove each other's partial file
    const together = await Promise.all([1, 2, 3].map(() => new Promise<number | null>((r) => {
      spawn(NODE, [join(IM_DIR, 'src/admin-main.ts'), '--config', srv.configFile, 'backup'], { stdio: 'ignore' }).once('exit', r);
    })));
    expect(together).toEqual([0, 0, 0]);
    const backups = readdirSync(join(srv.dir, 'backups')).filter((f) => f.endsWith('.db')).sort();
    expect(backups).toHaveLength(3);
    expect(readdirSync(join(srv.dir, 'backups')).filter((f) => f.includes('.partial'))).toEqual([]);
    const before = await allMessages(srv, 'ben');
    let lastAfter = 0;
    for (let i = 0; i < 10; i++) lastAfter = (await ann.send(conv.conv, `after backup ${i}`, `a-${i}`)).mid;
    ann.close();
    const refused = admin(srv, ['restore', join(srv.dir, 'backups', backups[2])]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/server is running/);
    // a second server on the same data dir is refused (the data dir's lock), and leaves the first one's pid file
    const second = await startTestServer({ data_dir: join(srv.dir, 'data') }).then(() => 'started', (e) => String(e.message));
    expect(second).toMatch(/another pibake-im \(pid \d+\) is using data_dir/);
    expect(readFileSync(join(srv.dir, 'data', 'pibake-im.pid'), 'utf8').trim()).toBe(String(srv.proc.pid));
    expect(await srv.stop()).toBe(0);
    // a file that is no database: one line naming it, and the database is untouched
    writeFileSync(join(srv.dir, 'notes.txt'), 'not a database\n'.repeat(100));
    const notDb = admin(srv, ['restore', join(srv.dir, 'notes.txt')]);
    expect([notDb.code, notDb.stderr.trim()]).toEqual([1, expect.stringMatching(/notes\.txt is not an SQLite database — fix: give a backup file/)]);
    expect(notDb.stderr.trim().split('\n')).toHaveLength(1);
    // a backup cut in half (a full disk, a copy stopped early): named as damaged, nothing replaced
    const full = readFileSync(join(srv.dir, 'backups', backups[2]));
    writeFileSync(join(srv.dir, 'half.db'), full.subarray(0, full.length >> 1));
    const half = admin(srv, ['restore', join(srv.dir, 'half.db')]);
    expect([half.code, half.stderr.trim()]).toEqual([1, expect.stringMatching(/^pibake-im-admin: half\.db is damaged \(.+\); the database was left as it was — fix: restore an older backup/)]);
    const r = admin(srv, ['restore', join(srv.dir, 'backups', backups[2])]);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(join(srv.dir, 'backups')).sort()).toEqual(backups); // no -wal / -shm left next to the backup
    expect(readdirSync(join(srv.dir, 'data')).filter((f) => f.includes('.restore'))).toEqual([]);
    expect(admin(srv, ['check']).stdout.trim()).toBe('ok');
    await srv.start();
    const after = await allMessages(srv, 'ben');
    expect(after.map((m) => [m.seq, m.body, m.client_id])).toEqual(before.map((m) => [m.seq, m.body, m.client_id]));
    expect(after).toHaveLength(30);
    expect(statSync(join(srv.dir, 'data', 'pibake-im.db')).size).toBeGreaterThan(0);
    // ids continue above those handed out after the backup: a client whose cursor is from then still gets the next one
    const annAgain = await ImConnection.connect(srv.wsUrl, (await login(srv.url, 'ann', 'pw')).token);
    const next = await annAgain.send(conv.conv, 'after restore', 'r-1');
    expect(next.mid).toBeGreaterThan(lastAfter);
    const synced: any[] = [];
    const ben = await ImConnection.connect(srv.wsUrl, (await login(srv.url, 'ben', 'pw')).token, { cursor: lastAfter, setup: (c) => c.on('sync', (f) => synced.push(...f.messages)) });
    await waitFor(() => ben.cursor >= next.mid, 5000, 'ben syncs the message sent after the restore');
    expect(synced.map((m) => m.body)).toEqual(['after restore']);
    annAgain.close(); ben.close();

    // retention removes the sidecars of the backups it prunes (a reader such as sqlite3 leaves them) and orphans
    const bdir = join(srv.dir, 'backups');
    new Database(join(bdir, backups[0]), { readonly: true }).prepare('SELECT count(*) FROM users').get();
    expect(readdirSync(bdir)).toEqual(expect.arrayContaining([`${backups[0]}-wal`, `${backups[0]}-shm`]));
    writeFileSync(join(bdir, 'pibake-im-20000101T000000000Z.db-shm'), '');
    writeFileSync(join(bdir, 'notes.txt-wal'), 'not ours');
    const b = admin(srv, ['backup']);
    expect(b.code, b.stderr).toBe(0);
    const left = readdirSync(bdir).sort();
    expect(left.filter((f) => !f.endsWith('.db'))).toEqual(['notes.txt-wal']);
    expect(left.filter((f) => f.endsWith('.db'))).toHaveLength(3);
    expect(left).not.toContain(backups[0]);
  }, 60000);
});
