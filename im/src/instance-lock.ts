// One server per data dir: an exclusive SQLite lock on data_dir/pibake-im.lock, held for the life of the process
// (the kernel drops it when the process dies, so a crash never leaves a stale lock). restore takes it too.
import Database from 'better-sqlite3';
import { join } from 'node:path';

export interface InstanceLock { release(): void }

/** The lock, or null when another process (a running server, a restore) holds it. */
export function acquireInstanceLock(dataDir: string): InstanceLock | null {
  const db = new Database(join(dataDir, 'pibake-im.lock'), { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
  } catch (err: any) {
    db.close();
    if (err?.code === 'SQLITE_BUSY') return null;
    throw err;
  }
  return { release: () => { try { db.exec('COMMIT'); } finally { db.close(); } } };
}
