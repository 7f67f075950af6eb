// Typed client for the pibake-im protocol (browser and Node >= 22: global fetch + WebSocket), used by the web client, tests and benchmark.
import type { WireMessage, WireConv } from './protocol.ts';

export type { WireMessage, WireConv };

export interface LoginResult { token: string; expires_at: number; user: string; is_admin: boolean }

export class ImError extends Error {
  code: string;
  constructor(code: string, message: string) { super(`${code}: ${message}`); this.code = code; }
}

async function postJson(url: string, body: unknown, token?: string): Promise<any> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new ImError(data.error ?? `http_${res.status}`, data.message ?? res.statusText);
  return data;
}

export function login(baseUrl: string, name: string, password: string): Promise<LoginResult> {
  return postJson(`${baseUrl}/api/login`, { name, password });
}
export function register(baseUrl: string, name: string, password: string, invite?: string): Promise<LoginResult> {
  return postJson(`${baseUrl}/api/register`, { name, password, invite });
}
export function logout(baseUrl: string, token: string): Promise<void> {
  return postJson(`${baseUrl}/api/logout`, {}, token);
}

type Handler = (frame: any) => void;

export interface ConnectOptions {
  /** last message id seen; the server then streams every missed message (frames "sync" then "synced") */
  cursor?: number;
  /** custom WebSocket constructor (defaults to the global one) */
  WebSocketImpl?: typeof WebSocket;
  /** called before the auth frame is sent: subscribe here so no pushed or sync frame is missed */
  setup?: (conn: ImConnection) => void;
}

/** One authenticated WebSocket session. Requests resolve with the server's reply frame, or reject with ImError. */
export class ImConnection {
  readonly ws: WebSocket;
  user = '';
  /** highest message id seen (pushes, sync pages, own acks) — pass it as cursor when reconnecting */
  cursor = 0;
  private nextRef = 1;
  private pending = new Map<number, { resolve: (f: any) => void; reject: (e: Error) => void }>();
  private handlers = new Map<string, Set<Handler>>();
  closed: Promise<{ code: number; reason: string }>;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    this.closed = new Promise((resolve) => ws.addEventListener('close', (e) => {
      for (const p of this.pending.values()) p.reject(new ImError('closed', `connection closed (${e.code})`));
      this.pending.clear();
      resolve({ code: e.code, reason: e.reason });
    }));
    ws.addEventListener('message', (e) => this.dispatch(String(e.data)));
  }

  static async connect(wsUrl: string, token: string, opts: ConnectOptions = {}): Promise<ImConnection> {
    const Impl = opts.WebSocketImpl ?? WebSocket;
    const ws = new Impl(wsUrl);
    const conn = new ImConnection(ws);
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener('open', () => resolve(), { once: true });
      ws.addEventListener('error', () => reject(new ImError('connect_failed', `cannot connect to ${wsUrl}`)), { once: true });
    });
    if (opts.cursor !== undefined) conn.cursor = opts.cursor;
    opts.setup?.(conn);
    const ok = await conn.request({ type: 'auth', token, ...(opts.cursor !== undefined ? { cursor: opts.cursor } : {}) });
    conn.user = ok.user;
    // no frame is dispatched before this continuation; the server clamps a cursor past its newest message to it
    if (opts.cursor === undefined || ok.cursor < conn.cursor) conn.cursor = ok.cursor;
    return conn;
  }

  private dispatch(text: string): void {
    let f: any;
    try { f = JSON.parse(text); } catch { return; }
    if (f.type === 'msg' && f.mid > this.cursor) this.cursor = f.mid;
    if (f.type === 'sync' && f.cursor > this.cursor) this.cursor = f.cursor;
    if (f.type === 'ack' && f.mid > this.cursor) this.cursor = f.mid;
    if (f.ref !== undefined && this.pending.has(f.ref)) {
      const p = this.pending.get(f.ref)!;
      this.pending.delete(f.ref);
      if (f.type === 'error') p.reject(new ImError(f.code, f.message));
      else p.resolve(f);
    }
    for (const h of this.handlers.get(f.type) ?? []) h(f);
    for (const h of this.handlers.get('*') ?? []) h(f);
  }

  /** Subscribes to pushed frames of one type ('msg', 'receipt', 'typing', 'presence', 'conv_update', 'sync', 'synced', 'error', or '*'). */
  on(type: string, handler: Handler): () => void {
    let set = this.handlers.get(type);
    if (!set) { set = new Set(); this.handlers.set(type, set); }
    set.add(handler);
    return () => set!.delete(handler);
  }

  /** Sends a frame with a fresh ref and waits for the reply carrying that ref. */
  request(frame: Record<string, unknown>): Promise<any> {
    const ref = this.nextRef++;
    return new Promise((resolve, reject) => {
      if (this.ws.readyState !== 1) return reject(new ImError('closed', 'connection is not open'));
      this.pending.set(ref, { resolve, reject });
      this.ws.send(JSON.stringify({ ...frame, ref }));
    });
  }

  /** Sends a frame without waiting for any reply (typing indicators). */
  post(frame: Record<string, unknown>): void { if (this.ws.readyState === 1) this.ws.send(JSON.stringify(frame)); }

  send(conv: number, body: string, clientId: string): Promise<{ conv: number; seq: number; mid: number; ts: number; client_id: string; duplicate: boolean }> {
    return this.request({ type: 'send', conv, body, client_id: clientId });
  }
  direct(user: string): Promise<WireConv> { return this.request({ type: 'direct', user }); }
  createGroup(name: string, members: string[]): Promise<WireConv> { return this.request({ type: 'group_create', name, members }); }
  renameGroup(conv: number, name: string) { return this.request({ type: 'group_rename', conv, name }); }
  addToGroup(conv: number, user: string) { return this.request({ type: 'group_add', conv, user }); }
  removeFromGroup(conv: number, user: string) { return this.request({ type: 'group_remove', conv, user }); }
  leaveGroup(conv: number) { return this.request({ type: 'group_leave', conv }); }
  async convs(): Promise<WireConv[]> { return (await this.request({ type: 'convs' })).convs; }
  async history(conv: number, before?: number, limit?: number): Promise<{ messages: WireMessage[]; more: boolean }> {
    return this.request({ type: 'history', conv, before, limit });
  }
  receipt(conv: number, kind: 'delivered' | 'read', seq: number) { return this.request({ type: 'receipt', conv, kind, seq }); }
  typing(conv: number, on = true): void { this.post({ type: 'typing', conv, on }); }
  async presence(users: string[]): Promise<{ user: string; online: boolean; last_seen: number | null }[]> {
    return (await this.request({ type: 'presence', users })).users;
  }
  close(): void { this.ws.close(); }
}
