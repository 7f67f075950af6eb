// All SQL the server and admin CLI use, as prepared statements behind small typed methods.
import type Database from 'better-sqlite3';
import { tokenHash } from './password.ts';
import { MessageLog } from './message-log.ts';
import { RETIRE_SQL, nextIdSql } from './retired-ids.ts';

export type { MessageRow } from './message-log.ts';
export interface UserRow { id: number; name: string; password_hash: string; is_admin: number; created_at: number; last_seen: number | null }
export interface ConvRow { id: number; kind: 'direct' | 'group'; name: string | null; created_at: number }

/** User names: 1-32 of a-z 0-9 _ . -, not starting with - or . (never taken for an option or a hidden file). */
export const NAME_RE = /^[a-z0-9_][a-z0-9_.-]{0,31}$/;
/** Why a group name is refused (the same rule for the WebSocket API and the admin CLI), or null. */
export function groupNameProblem(name: string): string | null {
  if (!name.trim()) return 'a group name must not be empty';
  if ([...name].length > 64) return 'a group name is at most 64 characters';
  if (/[\p{Cc}\p{Zl}\p{Zp}]/u.test(name)) return 'a group name must not contain control characters or line breaks';
  // format characters (zero-width, text direction, tags), lone surrogates, private use, and letters that draw
  // nothing would make a name look empty or like another one; a zero-width joiner inside an emoji sequence is fine
  const rest = name.replace(/(?<=\p{Extended_Pictographic}\uFE0F?)\u200D(?=\p{Extended_Pictographic})/gu, '');
  if (/[\p{Cf}\p{Cs}\p{Co}\u034f\u115f\u1160\u2800\u3164\uffa0]/u.test(rest)) return 'a group name must not contain invisible or text-direction characters';
  if (name !== name.trim()) return 'a group name must not start or end with spaces';
  // the admin CLI takes an all-digit GROUP argument for a group id, so such a name could not be addressed by name
  if (/^\d+$/.test(name)) return 'a group name must not be only digits (they would be taken for a group id)';
  return null;
}

export class Store {
  readonly db: Database.Database;
  readonly messages: MessageLog;
  private s: Record<string, Database.Statement>;
  /** Member ids per conversation; dropped on every membership change here and when another process commits. */
  private members = new Map<number, number[]>();
  private dataVersion = -1;

  constructor(db: Database.Database) {
    this.db = db;
    this.messages = new MessageLog(db);
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      userByName: p('SELECT * FROM users WHERE name = ?'),
      userById: p('SELECT * FROM users WHERE id = ?'),
      users: p('SELECT id, name, is_admin, created_at, last_seen FROM users ORDER BY name'),
      addUser: p(`INSERT INTO users (id, name, password_hash, is_admin, created_at) VALUES (${nextIdSql('users')}, ?, ?, ?, ?)`),
      setPassword: p('UPDATE users SET password_hash = ? WHERE id = ?'),
      deleteUser: p('DELETE FROM users WHERE id = ?'),
      setLastSeen: p('UPDATE users SET last_seen = ? WHERE id = ?'),
      addToken: p('INSERT INTO tokens (hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)'),
      tokenUser: p('SELECT u.* FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ? AND t.expires_at > ?'),
      deleteToken: p('DELETE FROM tokens WHERE hash = ?'),
      deleteUserTokens: p('DELETE FROM tokens WHERE user_id = ?'),
      purgeTokens: p('DELETE FROM tokens WHERE expires_at <= ?'),
      addInvite: p('INSERT INTO invites (code_hash, created_at, expires_at) VALUES (?, ?, ?)'),
      inviteOpen: p('SELECT 1 FROM invites WHERE code_hash = ? AND used_at IS NULL AND expires_at > ?').pluck(),
      useInvite: p('UPDATE invites SET used_by = ?, used_at = ? WHERE code_hash = ? AND used_at IS NULL AND expires_at > ?'),
      invites: p('SELECT substr(code_hash,1,8) AS id, created_at, expires_at, used_at, (SELECT name FROM users WHERE id = used_by) AS used_by FROM invites ORDER BY created_at'),
      convById: p('SELECT * FROM conversations WHERE id = ?'),
      convByDirectKey: p('SELECT * FROM conversations WHERE direct_key = ?'),
      convByName: p("SELECT * FROM conversations WHERE kind = 'group' AND name = ?"),
      addConv: p(`INSERT INTO conversations (id, kind, name, direct_key, created_at) VALUES (${nextIdSql('conversations')}, ?, ?, ?, ?)`),
      retire: p(RETIRE_SQL),
      renameConv: p('UPDATE conversations SET name = ? WHERE id = ?'),
      deleteConv: p('DELETE FROM conversations WHERE id = ?'),
      groups: p("SELECT c.id, c.name, (SELECT group_concat(u.name, ',') FROM members m JOIN users u ON u.id = m.user_id WHERE m.conv_id = c.id) AS members FROM conversations c WHERE kind = 'group' ORDER BY c.id"),
      member: p('SELECT * FROM members WHERE conv_id = ? AND user_id = ?'),
      addMember: p('INSERT OR IGNORE INTO members (conv_id, user_id, joined_at) VALUES (?, ?, ?)'),
      removeMember: p('DELETE FROM members WHERE conv_id = ? AND user_id = ?'),
      memberIds: p('SELECT user_id FROM members WHERE conv_id = ?').pluck(),
      memberNames: p('SELECT u.name FROM members m JOIN users u ON u.id = m.user_id WHERE m.conv_id = ? ORDER BY u.name').pluck(),
      memberCount: p('SELECT count(*) FROM members WHERE conv_id = ?').pluck(),
      userConvs: p(`SELECT c.id, c.kind, c.name, m.delivered_seq, m.read_seq
                    FROM members m JOIN conversations c ON c.id = m.conv_id WHERE m.user_id = ? ORDER BY c.id`),
      dataVersion: p('PRAGMA data_version').pluck(),
      convSigs: p(`SELECT c.id, COALESCE(c.name, '') || '|' || (SELECT group_concat(x.user_id) FROM members x WHERE x.conv_id = c.id) AS sig
                   FROM members m JOIN conversations c ON c.id = m.conv_id WHERE m.user_id = ?`),
      contacts: p('SELECT DISTINCT m2.user_id FROM members m1 JOIN members m2 ON m2.conv_id = m1.conv_id WHERE m1.user_id = ?').pluck(),
      setDelivered: p('UPDATE members SET delivered_seq = max(delivered_seq, ?) WHERE conv_id = ? AND user_id = ?'),
      setRead: p('UPDATE members SET read_seq = max(read_seq, ?), delivered_seq = max(delivered_seq, ?) WHERE conv_id = ? AND user_id = ?'),
      receipts: p('SELECT u.name AS user, m.delivered_seq, m.read_seq FROM members m JOIN users u ON u.id = m.user_id WHERE m.conv_id = ?'),
      countMessages: p('SELECT count(*) FROM messages').pluck(),
    };
  }

  userByName(name: string): UserRow | undefined { return this.s.userByName.get(name) as UserRow | undefined; }
  userById(id: number): UserRow | undefined { return this.s.userById.get(id) as UserRow | undefined; }
  listUsers(): Omit<UserRow, 'password_hash'>[] { return this.s.users.all() as any; }
  addUser(name: string, passwordHash: string, isAdmin: boolean): number {
    return Number(this.s.addUser.run(name, passwordHash, isAdmin ? 1 : 0, Date.now()).lastInsertRowid);
  }
  setPassword(userId: number, hash: string): void { this.s.setPassword.run(hash, userId); this.s.deleteUserTokens.run(userId); }
  deleteUser(userId: number): void {
    this.s.deleteUser.run(userId);
    this.s.retire.run('users_retired_max', userId);
    this.members.clear();
  }
  setLastSeen(userId: number, at: number): void { this.s.setLastSeen.run(at, userId); }

  addToken(token: string, userId: number, ttlMs: number): number {
    const now = Date.now();
    this.s.addToken.run(tokenHash(token), userId, now, now + ttlMs);
    return now + ttlMs;
  }
  userForToken(token: string): UserRow | undefined { return this.userForTokenHash(tokenHash(token)); }
  userForTokenHash(hash: string): UserRow | undefined { return this.s.tokenUser.get(hash, Date.now()) as UserRow | undefined; }
  /** Changes whenever another process (the admin CLI) committed to the database. */
  externalVersion(): number { return this.s.dataVersion.get() as number; }
  revokeToken(token: string): void { this.s.deleteToken.run(tokenHash(token)); }
  purgeExpiredTokens(): number { return this.s.purgeTokens.run(Date.now()).changes; }

  addInvite(code: string, ttlMs: number): void { const now = Date.now(); this.s.addInvite.run(tokenHash(code), now, now + ttlMs); }
  /** Marks an unused, unexpired invite as used by userId; false when there is none. */
  /** True when the invite exists, is unused and unexpired (useInvite still decides, atomically). */
  inviteOpen(code: string): boolean { return this.s.inviteOpen.get(tokenHash(code), Date.now()) === 1; }
  useInvite(code: string, userId: number): boolean { return this.s.useInvite.run(userId, Date.now(), tokenHash(code), Date.now()).changes === 1; }
  listInvites(): unknown[] { return this.s.invites.all(); }

  convById(id: number): ConvRow | undefined { return this.s.convById.get(id) as ConvRow | undefined; }
  groupsByName(name: string): ConvRow[] { return this.s.convByName.all(name) as ConvRow[]; }
  listGroups(): { id: number; name: string; members: string | null }[] { return this.s.groups.all() as any; }
  /** Returns the direct conversation of two users, creating it when missing. */
  directConv(a: number, b: number): { conv: ConvRow; created: boolean } {
    const key = a < b ? `${a}:${b}` : `${b}:${a}`;
    const found = this.s.convByDirectKey.get(key) as ConvRow | undefined;
    if (found) return { conv: found, created: false };
    const now = Date.now();
    const id = Number(this.s.addConv.run('direct', null, key, now).lastInsertRowid);
    this.s.addMember.run(id, a, now);
    if (b !== a) this.s.addMember.run(id, b, now);
    this.members.delete(id);
    return { conv: this.convById(id)!, created: true };
  }
  createGroup(name: string, memberIds: number[]): ConvRow {
    const now = Date.now();
    const id = Number(this.s.addConv.run('group', name, null, now).lastInsertRowid);
    for (const m of new Set(memberIds)) this.s.addMember.run(id, m, now);
    this.members.delete(id);
    return this.convById(id)!;
  }
  renameGroup(convId: number, name: string): void { this.s.renameConv.run(name, convId); }
  deleteConv(convId: number): void {
    this.messages.deleteConversation(convId);
    this.s.deleteConv.run(convId);
    this.s.retire.run('conversations_retired_max', convId);
    this.members.delete(convId);
  }
  isMember(convId: number, userId: number): boolean { return this.memberIds(convId).includes(userId); }
  addMember(convId: number, userId: number): boolean {
    this.members.delete(convId);
    return this.s.addMember.run(convId, userId, Date.now()).changes === 1;
  }
  removeMember(convId: number, userId: number): boolean {
    this.members.delete(convId);
    return this.s.removeMember.run(convId, userId).changes === 1;
  }
  /** Member ids of a conversation, from memory unless membership changed (here or in another process). */
  memberIds(convId: number): number[] {
    const v = this.s.dataVersion.get() as number;
    if (v !== this.dataVersion) { this.members.clear(); this.dataVersion = v; }
    let ids = this.members.get(convId);
    if (!ids) { ids = this.s.memberIds.all(convId) as number[]; this.members.set(convId, ids); }
    return ids;
  }
  memberNames(convId: number): string[] { return this.s.memberNames.all(convId) as string[]; }
  memberCount(convId: number): number { return this.s.memberCount.get(convId) as number; }
  /** The user's conversations with their durable last seq and unread count. */
  userConvs(userId: number): any[] {
    return (this.s.userConvs.all(userId) as any[]).map((r) => ({
      ...r, last_seq: this.messages.lastSeq(r.id), unread: this.messages.unread(r.id, userId, r.read_seq),
    }));
  }
  /** The user's conversations, each with a signature of its name and members (changes when either does). */
  convSignatures(userId: number): Map<number, string> {
    return new Map((this.s.convSigs.all(userId) as { id: number; sig: string }[]).map((r) => [r.id, r.sig]));
  }
  contactIds(userId: number): number[] { return this.s.contacts.all(userId) as number[]; }
  countMessages(): number { return this.s.countMessages.get() as number; }
  setDelivered(convId: number, userId: number, seq: number): void { this.s.setDelivered.run(seq, convId, userId); }
  setRead(convId: number, userId: number, seq: number): void { this.s.setRead.run(seq, seq, convId, userId); }
  receipts(convId: number): { user: string; delivered_seq: number; read_seq: number }[] { return this.s.receipts.all(convId) as any; }
}
