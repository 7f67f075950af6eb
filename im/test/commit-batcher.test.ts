// Group commit on a real SQLite file: one transaction per batch, durable results settle only after the sync,
// runVisible results right after the commit, a throwing op undoes only its own writes, a write lock held by another
// connection delays a batch instead of failing it.
import { describe, it, expect, afterEach } from 'vitest';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommitBatcher } from '../src/commit-batcher.ts';

let dir = '';
afterEach(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

/** A batcher whose sync finishes only when the test calls release(). */
function setup() {
  dir = mkdtempSync(join(tmpdir(), 'pibake-im-batcher-'));
  const db = new Database(join(dir, 't.db'));
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE t (v INTEGER UNIQUE)');
  const releases: (() => void)[] = [];
  const sizes: number[] = [];
  const batcher = new CommitBatcher(db, {
    windowMs: 0, maxBatch: 100,
    sync: () => new Promise<void>((r) => releases.push(r)),
    onBatch: (s) => sizes.push(s.size),
  });
  const release = () => releases.shift()?.();
  const count = () => (db.prepare('SELECT count(*) FROM t').pluck().get() as number);
  return { db, batcher, release, releases, sizes, count };
}

const tick = () => new Promise((r) => setImmediate(r));

/** Two connections to one WAL database that never wait for a lock themselves (timeout 0): the batcher's and another process's. */
function twoConnections() {
  dir = mkdtempSync(join(tmpdir(), 'pibake-im-batcher-'));
  const db = new Database(join(dir, 't.db'), { timeout: 0 });
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE t (v INTEGER UNIQUE)');
  return { db, other: new Database(join(dir, 't.db'), { timeout: 0 }) };
}

describe('CommitBatcher', () => {
  it('settles run() only after the sync, runVisible() right after the commit', async () => {
    const { db, batcher, release, releases } = setup();
    const settled: string[] = [];
    const blocker = batcher.run(() => db.prepare('INSERT INTO t VALUES (0)').run()); // commits at once, in flight
    batcher.run(() => db.prepare('INSERT INTO t VALUES (1)').run()).then(() => settled.push('durable'));
    batcher.runVisible(() => db.prepare('INSERT INTO t VALUES (2)').run()).then(() => settled.push('visible'));
    release(); await blocker;
    await tick(); await tick();
    expect(releases.length).toBe(1); // the second batch holds both ops: one transaction, one sync
    expect(settled).toEqual(['visible']);
    release();
    await tick(); await tick();
    expect(settled).toEqual(['visible', 'durable']);
    await batcher.close();
  });

  it('groups what queued during a sync into the next single transaction', async () => {
    const { db, batcher, release, sizes, count } = setup();
    const first = batcher.run(() => db.prepare('INSERT INTO t VALUES (1)').run());
    await tick();
    const rest = [2, 3, 4, 5].map((v) => batcher.run(() => db.prepare('INSERT INTO t VALUES (?)').run(v)));
    release(); await first;
    await tick(); release();
    await Promise.all(rest);
    expect(sizes).toEqual([1, 4]);
    expect(count()).toBe(5);
    await batcher.close();
  });

  it('rolls back only the op that threw (savepoint) and rejects only its promise', async () => {
    const { db, batcher, release, count } = setup();
    const blocker = batcher.run(() => db.prepare('INSERT INTO t VALUES (0)').run());
    const ok = batcher.run(() => db.prepare('INSERT INTO t VALUES (1)').run());
    const bad = batcher.run(() => { db.prepare('INSERT INTO t VALUES (2)').run(); db.prepare('INSERT INTO t VALUES (1)').run(); });
    const ok2 = batcher.run(() => db.prepare('INSERT INTO t VALUES (3)').run());
    release(); await blocker;
    await tick(); release();
    await expect(ok).resolves.toBeDefined();
    await expect(bad).rejects.toThrow(/UNIQUE/);
    await expect(ok2).resolves.toBeDefined();
    expect(db.prepare('SELECT v FROM t ORDER BY v').pluck().all()).toEqual([0, 1, 3]);
    expect(count()).toBe(3);
    await batcher.close();
  });

  it('waits for a write lock another connection holds (retrying, without blocking), then commits every op', async () => {
    const { db, other } = twoConnections();
    let busy = 0;
    const batcher = new CommitBatcher(db, { windowMs: 0, maxBatch: 100, sync: async () => {}, onBusy: () => busy++ });
    db.prepare('SELECT count(*) FROM t').get(); // a read first: a deferred BEGIN would then fail on a stale snapshot
    other.exec('BEGIN IMMEDIATE; INSERT INTO t VALUES (100)');
    const settled: number[] = [];
    const ops = [1, 2, 3].map((v) => batcher.run(() => { db.prepare('SELECT max(v) FROM t').get(); db.prepare('INSERT INTO t VALUES (?)').run(v); return v; }).then((r) => settled.push(r)));
    const visible = batcher.runVisible(() => db.prepare('INSERT INTO t VALUES (4)').run());
    const loopFree = await new Promise<number>((r) => { const t0 = Date.now(); setTimeout(() => r(Date.now() - t0), 10); });
    expect(loopFree).toBeLessThan(50); // the event loop runs while the batch waits
    await new Promise((r) => setTimeout(r, 150));
    expect(settled).toEqual([]);
    expect(busy).toBeGreaterThan(1);
    other.exec('COMMIT');
    await Promise.all([...ops, visible]);
    expect(settled).toEqual([1, 2, 3]);
    expect(db.prepare('SELECT v FROM t ORDER BY v').pluck().all()).toEqual([1, 2, 3, 4, 100]);
    await batcher.close();
    other.close(); db.close();
  });

  it('fails a batch that cannot get the write lock within busyGiveUpMs, and goes on afterwards', async () => {
    const { db, other } = twoConnections();
    const batcher = new CommitBatcher(db, { windowMs: 0, maxBatch: 100, sync: async () => {}, busyGiveUpMs: 60 });
    other.exec('BEGIN IMMEDIATE');
    await expect(batcher.run(() => db.prepare('INSERT INTO t VALUES (1)').run())).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
    other.exec('COMMIT');
    await batcher.run(() => db.prepare('INSERT INTO t VALUES (2)').run());
    expect(db.prepare('SELECT v FROM t').pluck().all()).toEqual([2]);
    await batcher.close();
    other.close(); db.close();
  });
});
