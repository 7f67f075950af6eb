// Group commit: operations queued while the previous commit is being synced (and within the commit window) run in
// ONE transaction; its WAL is then fdatasync'ed on libuv's threadpool, so the event loop never waits for the disk,
// and every operation's promise settles only after that sync has returned. A batch whose BEGIN IMMEDIATE finds the
// write lock held by another process (the admin CLI) is retried a few milliseconds later, never failed at once.
import type Database from 'better-sqlite3';

interface Pending<T> { op: () => T; savepoint: boolean; early: boolean; resolve: (v: T) => void; reject: (e: unknown) => void }

/** seconds: queued-batch start to durable; sqlSeconds: how long the transaction held the event loop. */
export interface BatchStats { size: number; seconds: number; sqlSeconds: number }

export interface BatcherOptions {
  /** Minimum milliseconds between the starts of two commits: under load every commit carries what arrived meanwhile. */
  windowMs: number;
  maxBatch: number;
  /** Makes everything committed so far durable (fdatasync of the WAL); rejects when the disk fails. */
  sync: () => Promise<void>;
  onBatch?: (s: BatchStats) => void;
  onDurable?: () => void;
  onRollback?: () => void;
  /** The disk could not be synced: committed data may not be on disk, so the process must not go on. */
  onSyncFailure?: (err: unknown) => void;
  /** Another connection held the write lock at BEGIN: the batch (nothing of it ran) is retried after a short delay. */
  onBusy?: () => void;
  /** A batch that cannot get the write lock for this long fails (its operations reject with SQLITE_BUSY). */
  busyGiveUpMs?: number;
}

/** Delays between attempts to begin a batch while another process holds the write lock (then 100 ms each). */
const BUSY_RETRY_MS = [2, 5, 10, 20, 50, 100];

export class CommitBatcher {
  private queue: Pending<any>[] = [];
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private lastStart = 0;
  private closed = false;
  /** When the batch now waiting for the write lock first found it held, or 0. */
  private busySince = 0;
  private busyTries = 0;
  private idleWaiters: (() => void)[] = [];
  private db: Database.Database;
  private o: Required<BatcherOptions>;

  constructor(db: Database.Database, opts: BatcherOptions) {
    this.db = db;
    this.o = {
      onBatch: () => {}, onDurable: () => {}, onRollback: () => {}, onBusy: () => {}, busyGiveUpMs: 30000,
      onSyncFailure: (err) => { throw err; },
      ...opts,
    };
  }

  /**
   * Queues op; it runs inside the next batch transaction. With `savepoint` (default) a throwing op undoes only its
   * own writes; without, an op must throw before it writes (cheaper: no SAVEPOINT/RELEASE per op).
   */
  run<T>(op: () => T, savepoint = true): Promise<T> {
    return this.enqueue(op, savepoint, false);
  }

  /**
   * Like run, but settles as soon as the batch has committed (visible to every later read), before its fsync:
   * only for writes whose loss in a power cut is harmless (a login token: the client logs in again).
   */
  runVisible<T>(op: () => T): Promise<T> {
    return this.enqueue(op, true, true);
  }

  private enqueue<T>(op: () => T, savepoint: boolean, early: boolean): Promise<T> {
    if (this.closed) return Promise.reject(new Error('shutting down'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op, savepoint, early, resolve, reject });
      this.schedule();
    });
  }

  /** Operations queued and not yet in a transaction. */
  get pending(): number { return this.queue.length; }

  private schedule(): void {
    if (this.busy || this.timer || this.queue.length === 0) return;
    const wait = this.lastStart + this.o.windowMs - Date.now();
    if (wait <= 0 || this.queue.length >= this.o.maxBatch) this.cycle();
    else this.timer = setTimeout(() => { this.timer = null; this.cycle(); }, wait);
  }

  /** Commits one batch, syncs it, settles it, then lets the next batch start. */
  private cycle(): void {
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    if (this.busy || this.queue.length === 0) return this.wakeIdle();
    this.busy = true;
    this.lastStart = Date.now();
    const started = process.hrtime.bigint();
    const batch = this.queue.splice(0, this.o.maxBatch);
    const results = this.commit(batch);
    if (results === 'busy') return this.retryLater(batch);
    this.busySince = 0; this.busyTries = 0;
    if (!results) return this.idle();
    const sqlSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const settle = (p: Pending<any>, i: number) => (results[i].ok ? p.resolve(results[i].value) : p.reject(results[i].value));
    batch.forEach((p, i) => p.early && settle(p, i));
    this.o.sync().then(() => {
      this.o.onDurable();
      this.o.onBatch({ size: batch.length, seconds: Number(process.hrtime.bigint() - started) / 1e9, sqlSeconds });
      batch.forEach((p, i) => !p.early && settle(p, i));
      this.idle();
    }, (err) => {
      for (const p of batch) if (!p.early) p.reject(err);
      this.o.onSyncFailure(err);
    });
  }

  /** The write lock was taken by another process: put the batch back in front and try again shortly. */
  private retryLater(batch: Pending<any>[]): void {
    const now = Date.now();
    if (!this.busySince) this.busySince = now;
    this.o.onBusy();
    if (now - this.busySince >= this.o.busyGiveUpMs) {
      const err = Object.assign(new Error(`database is locked by another process for over ${this.o.busyGiveUpMs} ms`), { code: 'SQLITE_BUSY' });
      this.busySince = 0; this.busyTries = 0;
      for (const p of batch) p.reject(err);
      return this.idle();
    }
    this.queue.unshift(...batch);
    this.busy = false;
    const wait = BUSY_RETRY_MS[Math.min(this.busyTries++, BUSY_RETRY_MS.length - 1)];
    this.timer = setTimeout(() => { this.timer = null; this.cycle(); }, wait);
  }

  /**
   * Runs the batch in one BEGIN IMMEDIATE transaction (the write lock is taken before any op runs, so a busy lock
   * is reported at BEGIN, where retrying is safe, never half-way through the ops). 'busy': nothing ran.
   */
  private commit(batch: Pending<any>[]): { ok: boolean; value: unknown }[] | null | 'busy' {
    const results: { ok: boolean; value: unknown }[] = [];
    let began = false;
    try {
      this.db.transaction(() => {
        began = true;
        for (const p of batch) {
          try {
            results.push({ ok: true, value: p.savepoint ? this.db.transaction(p.op)() : p.op() });
          } catch (err) {
            results.push({ ok: false, value: err });
          }
        }
      }).immediate();
      return results;
    } catch (err: any) {
      if (!began && typeof err?.code === 'string' && err.code.startsWith('SQLITE_BUSY')) return 'busy';
      this.o.onRollback();
      for (const p of batch) p.reject(err);
      return null;
    }
  }

  private idle(): void {
    this.busy = false;
    if (this.queue.length > 0) this.schedule(); else this.wakeIdle();
  }

  private wakeIdle(): void {
    const w = this.idleWaiters; this.idleWaiters = [];
    for (const f of w) f();
  }

  /** Resolves when everything queued so far has been committed, synced and settled. */
  drain(): Promise<void> {
    if (!this.busy && this.queue.length === 0) return Promise.resolve();
    if (!this.busy) this.cycle();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Stops accepting work once everything queued is durable. */
  async close(): Promise<void> {
    await this.drain();
    this.closed = true;
  }
}
