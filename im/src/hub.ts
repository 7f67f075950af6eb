// Registry of live sessions per user: fan-out of frames, presence transitions, and closing sessions by token.
import type { WebSocket } from 'ws';
import type { UserRow } from './store.ts';

export interface Session {
  id: number;
  ws: WebSocket;
  ip: string;
  user: UserRow | null;
  tokenHash: string | null;
  /** false while a reconnect sync is still streaming: live pushes are skipped (the sync pages include them). */
  live: boolean;
  tokens: number;
  lastRefill: number;
  lastActive: number;
  /** The user's conversations as last told to this session (admin-changes.ts pushes the difference). */
  convs?: Map<number, string>;
  /** The socket is corked until the end of this tick (Hub.write). */
  corked?: boolean;
}

export class Hub {
  private byUser = new Map<number, Set<Session>>();
  /** Authenticated sessions, all users together. */
  sessions = 0;
  maxBuffered: number;
  onPushed: (count: number) => void = () => {};

  constructor(maxBuffered: number) { this.maxBuffered = maxBuffered; }

  /** Adds an authenticated session; returns true when the user just came online. */
  add(s: Session): boolean {
    const uid = s.user!.id;
    let set = this.byUser.get(uid);
    const first = !set;
    if (!set) { set = new Set(); this.byUser.set(uid, set); }
    if (!set.has(s)) this.sessions++;
    set.add(s);
    return first;
  }

  /** Removes a session; returns true when the user just went offline. */
  remove(s: Session): boolean {
    if (!s.user) return false;
    const set = this.byUser.get(s.user.id);
    if (!set || !set.delete(s)) return false;
    this.sessions--;
    if (set.size === 0) { this.byUser.delete(s.user.id); return true; }
    return false;
  }

  isOnline(userId: number): boolean { return this.byUser.has(userId); }
  onlineUsers(): number { return this.byUser.size; }
  sessionsOf(userId: number): Set<Session> | undefined { return this.byUser.get(userId); }

  /**
   * Writes an already-serialised frame to one session, dropping sessions that cannot keep up. The socket stays
   * corked until the end of the tick, so the acks and pushes one group commit releases for the same connection
   * leave in one writev instead of one system call per frame.
   */
  write(s: Session, text: string): boolean {
    if (s.ws.readyState !== 1) return false;
    if (s.ws.bufferedAmount > this.maxBuffered) { s.ws.terminate(); return false; }
    if (!s.corked) {
      const socket = (s.ws as any)._socket;
      if (socket) {
        socket.cork();
        s.corked = true;
        if (this.corkedSessions.push(s) === 1) process.nextTick(this.uncorkAll);
      }
    }
    s.ws.send(text);
    return true;
  }

  private corkedSessions: Session[] = [];
  private uncorkAll = (): void => {
    const list = this.corkedSessions;
    this.corkedSessions = [];
    for (const s of list) { s.corked = false; (s.ws as any)._socket?.uncork(); }
  };

  /** Sends text to every live session of every user in userIds, except `except`; returns sessions reached. */
  fanout(userIds: Iterable<number>, text: string, except?: Session, skipUser?: number): number {
    let n = 0;
    for (const uid of userIds) {
      if (uid === skipUser) continue;
      const set = this.byUser.get(uid);
      if (!set) continue;
      for (const s of set) if (s !== except && s.live && this.write(s, text)) n++;
    }
    return n;
  }

  closeByToken(tokenHash: string): void {
    for (const set of this.byUser.values()) for (const s of set) if (s.tokenHash === tokenHash) s.ws.close(4001, 'logged out');
  }

  closeUser(userId: number): void {
    for (const s of this.byUser.get(userId) ?? []) s.ws.close(4001, 'account removed');
  }

  all(): Session[] { return [...this.byUser.values()].flatMap((s) => [...s]); }
}
