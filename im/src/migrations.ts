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
  // 2: append-only messages. Every index on messages cost one scattered page write per message (the entries of
  // busy conversations land on different pages), so a message is now ONE insert at the end of the table:
  // prev_id chains a conversation's messages backwards, conv_marks keeps every 256th seq for deep history, and
  // client_ids (resend keys) plus conversations.last_msg_id/last_seq (tail hints) are written in bulk by a
  // periodic flush, valid through meta 'tails_through'; newer rows are rescanned at start (message-log.ts).
  `CREATE TABLE messages_v2 (
     id INTEGER PRIMARY KEY,
     conv_id INTEGER NOT NULL,
     seq INTEGER NOT NULL,
     prev_id INTEGER NOT NULL,
     sender_id INTEGER NOT NULL,
     client_id TEXT NOT NULL,
     body TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );
   INSERT INTO messages_v2 (id, conv_id, seq, prev_id, sender_id, client_id, body, created_at)
     SELECT id, conv_id, seq, COALESCE(lag(id) OVER (PARTITION BY conv_id ORDER BY seq), 0), sender_id, client_id, body, created_at
     FROM messages;
   DROP TABLE messages;
   ALTER TABLE messages_v2 RENAME TO messages;
   CREATE TABLE conv_marks (
     conv_id INTEGER NOT NULL,
     seq INTEGER NOT NULL,
     msg_id INTEGER NOT NULL,
     PRIMARY KEY (conv_id, seq)
   ) WITHOUT ROWID;
   INSERT INTO conv_marks SELECT conv_id, seq, id FROM messages WHERE seq % 256 = 0;
   CREATE TABLE client_ids (
     sender_id INTEGER NOT NULL,
     client_id TEXT NOT NULL,
     msg_id INTEGER NOT NULL,
     PRIMARY KEY (sender_id, client_id)
   ) WITHOUT ROWID;
   INSERT INTO client_ids SELECT sender_id, client_id, id FROM messages;
   ALTER TABLE conversations ADD COLUMN last_msg_id INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE conversations ADD COLUMN last_seq INTEGER NOT NULL DEFAULT 0;
   UPDATE conversations SET last_msg_id = t.id, last_seq = t.seq
     FROM (SELECT conv_id, max(id) AS id, max(seq) AS seq FROM messages GROUP BY conv_id) AS t
     WHERE conversations.id = t.conv_id;
   CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
   INSERT INTO meta VALUES ('tails_through', (SELECT COALESCE(max(id), 0) FROM messages));`,
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
