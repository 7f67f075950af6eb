// Append-only message storage: one row insert per message, per-conversation chains walked from in-memory tails,
// sparse marks for deep history; resend keys and tail hints are indexed in bulk by a periodic flush.
import type Database from 'better-sqlite3';
import { RETIRE_SQL, nextIdSql } from './retired-ids.ts';

export interface MessageRow { id: number; conv_id: number; seq: number; prev_id: number; sender_id: number; client_id: string; body: string; created_at: number; sender?: string }
interface Tail { id: number; seq: number }

/** Every MARK_EVERY-th seq of a conversation gets a conv_marks row: history pages start at most this many hops away. */
export const MARK_EVERY = 256;
/** A flush is due once this many messages are not yet in the client_ids index (bounds the in-memory keys). */
export const FLUSH_EVERY_MESSAGES = 4096;
/** ... or once the oldest unflushed change is this old. */
export const FLUSH_EVERY_MS = 10000;
/** Unread counts walk at most this many messages back; more shows as this number. */
export const UNREAD_CAP = 999;

const NO_TAIL: Tail = { id: 0, seq: 0 };

export class MessageLog {
  private db: Database.Database;
  private s: Record<string, Database.Statement>;
  /** Tail of every conversation as committed (readers must use `durable`: a commit is visible before its fsync). */
  private tails = new Map<number, Tail>();
  /** Tails that are synced to disk: the only ones readers see. */
  private durable = new Map<number, Tail>();
  /** Highest message id synced to disk. */
  durableId = 0;
  private committedId = 0;
  private touched = new Set<number>();
  private dirtyHints = new Set<number>();
  /** Hints the flush in flight writes: dirty again if its batch rolls back. */
  private flushedHints = new Set<number>();
  /** `${sender}:${client_id}` → id of every message after `through` (not yet in the client_ids index), in id order. */
  private pendingKeys = new Map<string, number>();
  /** Messages with id <= through are in client_ids and reflected in the conversations' tail hints. */
  private through = 0;
  private flushing = 0;
  private lastFlush = Date.now();

  constructor(db: Database.Database) {
    this.db = db;
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      insert: p('INSERT INTO messages (id, conv_id, seq, prev_id, sender_id, client_id, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      mark: p('INSERT OR REPLACE INTO conv_marks (conv_id, seq, msg_id) VALUES (?, ?, ?)'),
      markAtOrAfter: p('SELECT seq, msg_id FROM conv_marks WHERE conv_id = ? AND seq >= ? ORDER BY seq LIMIT 1'),
      byId: p('SELECT m.*, u.name AS sender FROM messages m LEFT JOIN users u ON u.id = m.sender_id WHERE m.id = ?'),
      link: p('SELECT prev_id, seq, sender_id, client_id FROM messages WHERE id = ?'),
      hints: p('SELECT id, last_msg_id, last_seq FROM conversations'),
      through: p("SELECT value FROM meta WHERE key = 'tails_through'").pluck(),
      after: p('SELECT id, conv_id, seq, sender_id, client_id FROM messages WHERE id > ? ORDER BY id'),
      keyLookup: p('SELECT msg_id FROM client_ids WHERE sender_id = ? AND client_id = ?').pluck(),
      indexKeys: p('INSERT OR IGNORE INTO client_ids (sender_id, client_id, msg_id) SELECT sender_id, client_id, id FROM messages WHERE id > ? AND id <= ?'),
      // message ids are sync cursors: never below one a deleted conversation used (see RETIRE_SQL)
      maxId: p(`SELECT ${nextIdSql('messages')} - 1`).pluck(),
      retire: p(RETIRE_SQL),
      setHint: p('UPDATE conversations SET last_msg_id = ?, last_seq = ? WHERE id = ?'),
      setThrough: p("INSERT OR REPLACE INTO meta (key, value) VALUES ('tails_through', ?)"),
      since: p(`SELECT m.*, u.name AS sender FROM messages m JOIN members mb ON mb.conv_id = m.conv_id AND mb.user_id = ?
                LEFT JOIN users u ON u.id = m.sender_id WHERE m.id > ? AND m.id <= ? ORDER BY m.id LIMIT ?`),
      deleteMsg: p('DELETE FROM messages WHERE id = ?'),
      deleteMarks: p('DELETE FROM conv_marks WHERE conv_id = ?'),
      deleteKey: p('DELETE FROM client_ids WHERE sender_id = ? AND client_id = ?'),
    };
    this.recover();
  }

  /** Rebuilds the tails from the flushed hints plus every row written after them (everything on disk is durable). */
  recover(): void {
    this.tails.clear();
    for (const r of this.s.hints.all() as { id: number; last_msg_id: number; last_seq: number }[]) {
      if (r.last_msg_id) this.tails.set(r.id, { id: r.last_msg_id, seq: r.last_seq });
    }
    this.through = (this.s.through.get() as number | undefined) ?? 0;
    this.pendingKeys.clear();
    for (const r of this.s.after.iterate(this.through) as Iterable<{ id: number; conv_id: number; seq: number; sender_id: number; client_id: string }>) {
      this.tails.set(r.conv_id, { id: r.id, seq: r.seq });
      this.dirtyHints.add(r.conv_id);
      this.pendingKeys.set(`${r.sender_id}:${r.client_id}`, r.id);
    }
    this.durable = new Map(this.tails);
    this.durableId = this.committedId = this.s.maxId.get() as number;
    this.touched.clear();
  }

  /**
   * Appends a message (call inside the batch transaction). A client id this sender already used returns that
   * message instead, marked duplicate (looked up in memory for recent messages, in client_ids for older ones).
   */
  append(convId: number, senderId: number, clientId: string, body: string): { row: MessageRow; duplicate: boolean } {
    const key = `${senderId}:${clientId}`;
    const known = this.pendingKeys.get(key) ?? (this.s.keyLookup.get(senderId, clientId) as number | undefined);
    const original = known === undefined ? undefined : this.byId(known);
    if (original) return { row: original, duplicate: true };
    const tail = this.tails.get(convId) ?? NO_TAIL;
    const seq = tail.seq + 1;
    const now = Date.now();
    const id = this.committedId + 1;
    this.s.insert.run(id, convId, seq, tail.id, senderId, clientId, body, now);
    if (seq % MARK_EVERY === 0) this.s.mark.run(convId, seq, id);
    this.tails.set(convId, { id, seq });
    this.touched.add(convId);
    this.dirtyHints.add(convId);
    this.committedId = id;
    this.pendingKeys.set(key, id);
    return { row: { id, conv_id: convId, seq, prev_id: tail.id, sender_id: senderId, client_id: clientId, body, created_at: now }, duplicate: false };
  }

  /** The batch holding every append so far is synced to disk: readers may now see it. */
  markDurable(): void {
    for (const c of this.touched) this.durable.set(c, this.tails.get(c)!);
    this.touched.clear();
    this.durableId = this.committedId;
    if (this.flushing) {
      this.through = this.flushing;
      this.flushing = 0;
      this.flushedHints.clear();
      for (const [k, id] of this.pendingKeys) { if (id > this.through) break; this.pendingKeys.delete(k); }
    }
  }

  /** The batch was rolled back: forget what its appends did in memory. */
  rollback(): void {
    for (const c of this.touched) {
      const d = this.durable.get(c);
      if (d) this.tails.set(c, d); else this.tails.delete(c);
    }
    this.touched.clear();
    for (const [k, id] of this.pendingKeys) if (id > this.durableId) this.pendingKeys.delete(k);
    this.committedId = this.durableId;
    // a flush that did not commit (a full disk) wrote no hints: without this, the next flush would move
    // tails_through past these conversations while their stored tails stay old, and a restart would lose them
    for (const c of this.flushedHints) this.dirtyHints.add(c);
    this.flushedHints.clear();
    this.flushing = 0;
  }

  /** True when the unflushed keys or hints are many or old enough for flush(). */
  flushDue(now = Date.now()): boolean {
    if (this.flushing) return false;
    return this.pendingKeys.size >= FLUSH_EVERY_MESSAGES || ((this.dirtyHints.size > 0 || this.pendingKeys.size > 0) && now - this.lastFlush >= FLUSH_EVERY_MS);
  }

  /**
   * Indexes the client ids of every message since the last flush and writes the changed tail hints, all in bulk
   * (call inside a batch): a few pages per flush instead of scattered index pages in every commit.
   */
  flush(): void {
    const upTo = this.committedId;
    this.s.indexKeys.run(this.through, upTo);
    for (const c of this.dirtyHints) {
      const t = this.tails.get(c);
      if (t) this.s.setHint.run(t.id, t.seq, c);
    }
    this.s.setThrough.run(upTo);
    for (const c of this.dirtyHints) this.flushedHints.add(c);
    this.dirtyHints.clear();
    this.flushing = upTo;
    this.lastFlush = Date.now();
  }
  lastSeq(convId: number): number { return (this.durable.get(convId) ?? NO_TAIL).seq; }
  byId(id: number): MessageRow | undefined { return this.s.byId.get(id) as MessageRow | undefined; }

  /** Up to `limit` durable messages of a conversation with seq < beforeSeq, oldest first. */
  history(convId: number, beforeSeq: number, limit: number): MessageRow[] {
    const tail = this.durable.get(convId) ?? NO_TAIL;
    let id = tail.id;
    if (beforeSeq <= tail.seq) {
      const mark = this.s.markAtOrAfter.get(convId, beforeSeq) as { seq: number; msg_id: number } | undefined;
      if (mark && mark.seq <= tail.seq) id = mark.msg_id;
    }
    const out: MessageRow[] = [];
    while (id !== 0 && out.length < limit) {
      const row = this.byId(id);
      if (!row) break;
      if (row.seq < beforeSeq) out.push(row);
      id = row.prev_id;
    }
    return out.reverse();
  }

  /** Durable messages of `userId`'s conversations with id > afterId, in id order. */
  since(userId: number, afterId: number, limit: number): MessageRow[] {
    return this.s.since.all(userId, afterId, this.durableId, limit) as MessageRow[];
  }

  /** Messages after readSeq not sent by userId, counted back from the durable tail (capped at UNREAD_CAP). */
  unread(convId: number, userId: number, readSeq: number): number {
    let id = (this.durable.get(convId) ?? NO_TAIL).id;
    let n = 0, steps = 0;
    while (id !== 0 && steps++ < UNREAD_CAP) {
      const r = this.s.link.get(id) as { prev_id: number; seq: number; sender_id: number } | undefined;
      if (!r || r.seq <= readSeq) return n;
      if (r.sender_id !== userId) n++;
      id = r.prev_id;
    }
    return id === 0 ? n : Math.max(n, UNREAD_CAP);
  }

  /** Deletes every message of a conversation (admin group delete): walks its chain, no table scan. */
  deleteConversation(convId: number): void {
    // inside the write transaction: first take in what the server committed since this store was opened (the
    // admin CLI waited for the lock while messages kept arriving), so the walk starts at the real tail
    for (const r of this.s.after.iterate(this.committedId) as Iterable<{ id: number; conv_id: number; seq: number }>) {
      this.tails.set(r.conv_id, { id: r.id, seq: r.seq });
      this.committedId = r.id;
    }
    let id = (this.tails.get(convId) ?? NO_TAIL).id;
    this.s.retire.run('messages_retired_max', id);
    while (id !== 0) {
      const r = this.s.link.get(id) as { prev_id: number; sender_id: number; client_id: string } | undefined;
      if (!r) break;
      this.s.deleteMsg.run(id);
      this.s.deleteKey.run(r.sender_id, r.client_id);
      this.pendingKeys.delete(`${r.sender_id}:${r.client_id}`);
      id = r.prev_id;
    }
    this.s.deleteMarks.run(convId);
    this.tails.delete(convId);
    this.durable.delete(convId);
    this.dirtyHints.delete(convId);
  }
}
