// Versioned schema migrations, applied in order inside one transaction each; PRAGMA user_version holds the version.
import type Database from 'better-sqlite3';

export const MIGRATIONS: string[] = [
  // 1: initial schema
  `CREATE TABLE users (
     id INTEGER PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     password_hash TEXT NOT NULL,
     is_admin INTEGER NOT NULL DEFAULT 0,
     created_at INTEGER NOT NULL,
     last_seen INTEGER
   );
   CREATE TABLE tokens (
     hash TEXT PRIMARY KEY,
     user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL
   );
   CREATE INDEX tokens_user ON tokens(user_id);
   CREATE TABLE invites (
     code_hash TEXT PRIMARY KEY,
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     used_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
     used_at INTEGER
   );
   CREATE TABLE conversations (
     id INTEGER PRIMARY KEY,
     kind TEXT NOT NULL CHECK (kind IN ('direct','group')),
     name TEXT,
     direct_key TEXT UNIQUE,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE members (
     conv_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
     user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
     joined_at INTEGER NOT NULL,
     delivered_seq INTEGER NOT NULL DEFAULT 0,
     read_seq INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (conv_id, user_id)
   ) WITHOUT ROWID;
   CREATE INDEX members_user ON members(user_id, conv_id);
   CREATE TABLE messages (
     id INTEGER PRIMARY KEY,
     conv_id INTEGER NOT NULL,
     seq INTEGER NOT NULL,
     sender_id INTEGER NOT NULL,
     client_id TEXT NOT NULL,
     body TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     UNIQUE (conv_id, seq),
     UNIQUE (sender_id, client_id)
   );`,
];

export function migrate(db: Database.Database): { from: number; to: number } {
  const from = db.pragma('user_version', { simple: true }) as number;
  if (from > MIGRATIONS.length) {
    throw new Error(`database schema version ${from} is newer than this program (${MIGRATIONS.length}); install a newer pibake-im`);
  }
  for (let v = from; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  return { from, to: MIGRATIONS.length };
}
