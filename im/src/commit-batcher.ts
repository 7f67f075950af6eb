// Group commit: write operations queued within a short window run in ONE transaction (one WAL fsync with
// synchronous=FULL); each operation's promise settles only after that commit has returned.
import type Database from 'better-sqlite3';

interface Pending<T> { op: () => T; resolve: (v: T) => void; reject: (e: unknown) => void }

export interface BatchStats { size: number; seconds: number }

export class CommitBatcher {
  private queue: Pending<any>[] = [];
  private timer: NodeJS.Timeout | null = null;
  private db: Database.Database;
  private windowMs: number;
  private maxBatch: number;
  private onBatch: (s: BatchStats) => void;
  private onRollback: () => void;
  private closed = false;

  constructor(db: Database.Database, opts: { windowMs: number; maxBatch: number; onBatch?: (s: BatchStats) => void; onRollback?: () => void }) {
    this.db = db;
    this.windowMs = opts.windowMs;
    this.maxBatch = opts.maxBatch;
    this.onBatch = opts.onBatch ?? (() => {});
    this.onRollback = opts.onRollback ?? (() => {});
  }

  /** Queues op; it runs inside the next batch transaction (as a savepoint, so its failure is its own). */
  run<T>(op: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new Error('shutting down'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op, resolve, reject });
      if (this.queue.length >= this.maxBatch) this.flush();
      else if (!this.timer) this.timer = setTimeout(() => this.flush(), this.windowMs);
    });
  }

  /** Commits everything queued now. */
  flush(): void {
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      const results: { ok: boolean; value: unknown }[] = [];
      const started = process.hrtime.bigint();
      try {
        this.db.transaction(() => {
          for (const p of batch) {
            try {
              results.push({ ok: true, value: this.db.transaction(p.op)() });
            } catch (err) {
              results.push({ ok: false, value: err });
            }
          }
        })();
      } catch (err) {
        this.onRollback();
        for (const p of batch) p.reject(err);
        continue;
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.onBatch({ size: batch.length, seconds });
      batch.forEach((p, i) => (results[i].ok ? p.resolve(results[i].value) : p.reject(results[i].value)));
    }
  }

  close(): void {
    this.flush();
    this.closed = true;
  }
}
