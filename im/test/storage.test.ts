// Append-only message storage against a real server and SQLite file: deep history through marks, unread counts,
// resend keys before and after their bulk flush, tail recovery after kill -9 and after a flush that failed, the
// v1 -> v2 migration, and an admin group delete that races the server's commits.
import { describe, it, expect, afterAll } from 'vitest';
import Database from 'better-sqlite3';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, addUsers, type TestServer } from './helpers.ts';
import { login, ImConnection } from '../src/client.ts';
import { MIGRATIONS } from '../src/migrations.ts';
import { MARK_EVERY } from '../src/message-log.ts';
import { openDatabase } from '../src/db.ts';
import { Store } from '../src/store.ts';

const servers: TestServer[] = [];
afterAll(async () => { for (const s of servers) await s.stop(); });

async function connect(srv: TestServer, name: string): Promise<ImConnection> {
  return ImConnection.connect(srv.wsUrl, (await login(srv.url, name, 'pw')).token);
}

/** Pages history backwards from the newest message to the first; returns the seqs seen, oldest first. */
async function allHistory(c: ImConnection, conv: number, page: number): Promise<number[]> {
  const seqs: number[] = [];
  let before: number | undefined;
  for (;;) {
    const h = await c.history(conv, before, page);
    seqs.unshift(...h.messages.map((m) => m.seq));
    if (!h.more || h.messages.length === 0) return seqs;
    before = h.messages[0].seq;
  }
}

describe('append-only storage', () => {
  it('pages deep history through marks, counts unread, keeps resends idempotent across flushes and kill -9', async () => {
    const srv = await startTestServer({ limits: { messages_per_second: 100000, message_burst: 100000 } });
    servers.push(srv);
    addUsers(srv, ['ann', 'bob']);
    const ann = await connect(srv, 'ann');
    const conv = (await ann.direct('bob')).conv;
    const total = 3 * MARK_EVERY + 17;
    for (let i = 1; i <= total; i += 50) {
      await Promise.all(Array.from({ length: Math.min(50, total - i + 1) }, (_, k) => ann.send(conv, `m${i + k}`, `c${i + k}`)));
    }
    expect(await allHistory(ann, conv, 37)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    const mid = await ann.history(conv, 2 * MARK_EVERY + 5, 10); // starts from a mark, not the tail
    expect(mid.messages.map((m) => m.seq)).toEqual(Array.from({ length: 10 }, (_, i) => 2 * MARK_EVERY - 5 + i));
    expect(mid.messages.map((m) => m.body)).toEqual(Array.from({ length: 10 }, (_, i) => `m${2 * MARK_EVERY - 5 + i}`));

    const bob = await connect(srv, 'bob');
    expect((await bob.convs()).find((c) => c.conv === conv)).toMatchObject({ last_seq: total, unread: total });
    await bob.receipt(conv, 'read', total - 3);
    expect((await bob.convs()).find((c) => c.conv === conv)!.unread).toBe(3);

    // an early message's key is only in the bulk-flushed index after ~10 s; before and after, a resend is a duplicate
    const early = await ann.send(conv, 'again', 'c1');
    expect(early).toMatchObject({ duplicate: true, seq: 1 });
    await new Promise((r) => setTimeout(r, 11500));
    expect(await ann.send(conv, 'again', 'c2')).toMatchObject({ duplicate: true, seq: 2 });

    // messages after the last flush are recovered from the table at restart: seqs continue, resends still match
    const late = await ann.send(conv, 'late', 'late-1');
    expect(late.seq).toBe(total + 1);
    ann.close(); bob.close();
    await srv.kill9();
    await srv.start();
    const ann2 = await connect(srv, 'ann');
    expect(await ann2.send(conv, 'late', 'late-1')).toMatchObject({ duplicate: true, seq: total + 1 });
    expect((await ann2.send(conv, 'next', 'next-1')).seq).toBe(total + 2);
    expect((await ann2.history(conv, undefined, 3)).messages.map((m) => m.body)).toEqual([`m${total}`, 'late', 'next']);
    ann2.close();
  }, 60000);

  it('migrates a version-1 database: history, sequences and resend keys carry over', async () => {
    const srv = await startTestServer();
    servers.push(srv);
    await srv.stop();
    const data = join(srv.dir, 'data-v1');
    mkdirSync(data, { recursive: true });
    const db = new Database(join(data, 'pibake-im.db'));
    db.pragma('journal_mode = WAL');
    db.exec(MIGRATIONS[0]);
    db.pragma('user_version = 1');
    const pw = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$' + 'A'.repeat(43) + '=';
    db.prepare('INSERT INTO users (id, name, password_hash, created_at) VALUES (1, ?, ?, 0), (2, ?, ?, 0)').run('ann', pw, 'bob', pw);
    db.prepare("INSERT INTO conversations (id, kind, direct_key, created_at) VALUES (1, 'direct', '1:2', 0), (2, 'direct', '1:1', 0)").run();
    db.prepare('INSERT INTO members (conv_id, user_id, joined_at) VALUES (1, 1, 0), (1, 2, 0), (2, 1, 0)').run();
    const ins = db.prepare('INSERT INTO messages (conv_id, seq, sender_id, client_id, body, created_at) VALUES (?, ?, ?, ?, ?, 0)');
    // interleaved conversations, so chains must follow seq order, not id order
    for (let i = 1; i <= 300; i++) { ins.run(1, i, 1 + (i % 2), `v1-${i}`, `old ${i}`); if (i % 3 === 0) ins.run(2, i / 3, 1, `self-${i}`, `note ${i / 3}`); }
    db.close();
    const yaml = await import('yaml');
    const { readFileSync, writeFileSync } = await import('node:fs');
    const cfg = yaml.parse(readFileSync(srv.configFile, 'utf8'));
    cfg.data_dir = data;
    writeFileSync(srv.configFile, yaml.stringify(cfg));
    await srv.start();
    const { spawnSync } = await import('node:child_process');
    const { NODE, IM_DIR } = await import('./helpers.ts');
    expect(spawnSync(NODE, [join(IM_DIR, 'src/admin-main.ts'), '--config', srv.configFile, 'users', 'passwd', 'ann'], { input: 'pw', encoding: 'utf8' }).status).toBe(0);
    const ann = await connect(srv, 'ann');
    expect(await allHistory(ann, 1, 64)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect((await ann.history(1, 260, 3)).messages.map((m) => m.body)).toEqual(['old 257', 'old 258', 'old 259']);
    expect(await allHistory(ann, 2, 64)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(await ann.send(1, 'x', 'v1-8')).toMatchObject({ duplicate: true, seq: 8 }); // ann (id 1) sent the even ones
    expect((await ann.send(1, 'new', 'v2-1')).seq).toBe(301);
    expect((await ann.send(2, 'new', 'v2-2')).seq).toBe(101);
    ann.close();
  }, 60000);

  it('a flush whose batch rolled back (a full disk) keeps its tails for the next flush: a restart loses no conversation', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pibake-im-flush-'));
    try {
      const db = openDatabase(dir);
      const store = new Store(db);
      const log = store.messages;
      const a = store.addUser('a', 'x', false), b = store.addUser('b', 'x', false);
      const x = store.createGroup('x', [a, b]).id, y = store.createGroup('y', [a, b]).id;
      db.transaction(() => { for (let i = 1; i <= 10; i++) log.append(x, a, `x-${i}`, `x ${i}`); })();
      log.markDurable();
      expect(() => db.transaction(() => { log.flush(); throw new Error('SQLITE_FULL'); })()).toThrow('SQLITE_FULL');
      log.rollback();
      db.transaction(() => log.append(y, a, 'y-1', 'y 1'))();
      log.markDurable();
      db.transaction(() => log.flush())();
      log.markDurable();
      db.close();
      const again = new Store(openDatabase(dir));
      expect(again.messages.lastSeq(x)).toBe(10);
      expect(again.messages.history(x, 1000, 20).map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      again.db.close();
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });

  it('an admin group delete takes in the messages the server committed while it waited for the lock', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pibake-im-delete-'));
    try {
      const server = new Store(openDatabase(dir));
      const a = server.addUser('a', 'x', false);
      const g = server.createGroup('g', [a]).id;
      server.db.transaction(() => { for (let i = 1; i <= 5; i++) server.messages.append(g, a, `g-${i}`, 'early'); })();
      server.messages.markDurable();
      const cli = new Store(openDatabase(dir)); // opened now: it knows the first 5
      server.db.transaction(() => { for (let i = 6; i <= 9; i++) server.messages.append(g, a, `g-${i}`, 'late'); })();
      server.messages.markDurable();
      cli.db.transaction(() => cli.deleteConv(g)).immediate();
      expect(cli.db.prepare('SELECT count(*) FROM messages WHERE conv_id = ?').pluck().get(g)).toBe(0);
      expect(cli.db.prepare("SELECT value FROM meta WHERE key = 'messages_retired_max'").pluck().get()).toBe(9);
      cli.db.close(); server.db.close();
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });
});
