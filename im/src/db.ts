// Opens the SQLite database (WAL) and applies migrations. The server syncs the WAL itself after each group commit
// (wal-sync.ts, off the event loop); every other user (admin CLI, bench) gets SQLite's own synchronous=FULL.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { migrate } from './migrations.ts';
import { makeDirs } from './make-dirs.ts';

/** How long the admin CLI and tools wait for another process's write lock (they may block: nothing else runs). */
export const TOOL_BUSY_TIMEOUT_MS = 10000;
/**
 * The server's wait for a lock once it has started (synchronous, on the event loop, so short): a batch that still
 * finds the write lock taken is retried asynchronously by the commit batcher instead.
 */
export const SERVER_BUSY_TIMEOUT_MS = 20;

export function dbPath(dataDir: string): string {
  return join(dataDir, 'pibake-im.db');
}

/**
 * `serverSyncsWal`: synchronous=NORMAL, i.e. SQLite still syncs around checkpoints (so the file can never be
 * corrupted), and the caller MUST fdatasync the WAL after each commit before acknowledging it — together exactly
 * the fsyncs of synchronous=FULL, but issued from the threadpool instead of inside the blocking COMMIT.
 */
export function openDatabase(dataDir: string, opts: { serverSyncsWal?: boolean } = {}): Database.Database {
  makeDirs(dataDir);
  const db = new Database(dbPath(dataDir), { timeout: TOOL_BUSY_TIMEOUT_MS });
  // small pages: a commit rewrites every page it touches; 1 KiB keeps that small (new databases only)
  db.pragma('page_size = 1024');
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${opts.serverSyncsWal ? 'NORMAL' : 'FULL'}`);
  db.pragma('foreign_keys = ON');
  db.pragma('wal_autocheckpoint = 10000'); // pages (10 MiB): hot pages are copied back once per checkpoint, not once per commit
  migrate(db);
  return db;
}
