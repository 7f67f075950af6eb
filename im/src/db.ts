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
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('wal_autocheckpoint = 1000');
  migrate(db);
  return db;
}
