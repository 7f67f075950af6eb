// Opens the SQLite database with the durability settings (WAL, synchronous=FULL) and applies migrations.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { migrate } from './migrations.ts';

export function dbPath(dataDir: string): string {
  return join(dataDir, 'pibake-im.db');
}

export function openDatabase(dataDir: string): Database.Database {
  mkdirSync(dataDir, { recursive: true, mode: 0o750 });
  const db = new Database(dbPath(dataDir), { timeout: 10000 });
  // small pages: a commit rewrites every index page it touches, and message index entries of many
  // conversations land on different pages, so 1 KiB pages cut bytes written per message ~4x (new databases only)
  db.pragma('page_size = 1024');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('wal_autocheckpoint = 10000'); // pages (10 MiB): hot pages are copied back once per checkpoint, not once per commit
  migrate(db);
  return db;
}
