// Handles one WebSocket frame at a time for a session: validation, membership checks, commits, acks and pushes.
import type { Config } from './config.ts';
import type { Store, MessageRow, UserRow } from './store.ts';
import type { CommitBatcher } from './commit-batcher.ts';
import type { Hub, Session } from './hub.ts';
import type { Metrics } from './metrics.ts';
import type { Logger } from './logger.ts';
import type { AccessLog } from './access-log.ts';
import { FrameError, validateRequest, type WireMessage, type WireConv } from './protocol.ts';
import { tokenHash } from './password.ts';
import { NAME_RE, groupNameProblem } from './store.ts';

const SYNC_PAGE = 500;
const MAX_CLIENT_ID = 64;

export interface Ctx {
  config: Config;
  store: Store;
  batcher: CommitBatcher;
  hub: Hub;
  metrics: Metrics;
  log: Logger;
  access: AccessLog;
}

export function wireMessage(m: MessageRow, from: string): WireMessage {
  return { mid: m.id, conv: m.conv_id, seq: m.seq, from, body: m.body, ts: m.created_at, client_id: m.client_id };
}

export function sendError(ctx: Ctx, s: Session, code: FrameError['code'], message: string, ref?: unknown, forType?: string): void {
  ctx.metrics.errors.inc({ code });
  const frame: Record<string, unknown> = { type: 'error', code, message };
  if (ref !== undefined) frame.ref = ref;
  if (forType !== undefined) frame.for = forType;
  ctx.hub.write(s, JSON.stringify(frame));
}

function reply(ctx: Ctx, s: Session, ref: unknown, frame: Record<string, unknown>): void {
  if (ref !== undefined) frame.ref = ref;
  ctx.hub.write(s, JSON.stringify(frame));
}

function requireMember(ctx: Ctx, convId: number, userId: number): void {
  if (!ctx.store.isMember(convId, userId)) {
    if (!ctx.store.convById(convId)) throw new FrameError('no_such_conv', `conversation ${convId} does not exist or you are not in it`);
    throw new FrameError('not_member', `you are not a member of conversation ${convId}`);
  }
}

function userNamed(ctx: Ctx, name: string): UserRow {
  const u = ctx.store.userByName(name);
  if (!u) throw new FrameError('no_such_user', `no user named "${name.slice(0, 40)}"`);
  return u;
}

export function wireConv(ctx: Ctx, row: any): WireConv {
  const members = ctx.store.memberNames(row.id);
  return {
    conv: row.id, kind: row.kind, name: row.name ?? members.join(', '), members,
    last_seq: row.last_seq ?? 0, read_seq: row.read_seq ?? 0, delivered_seq: row.delivered_seq ?? 0,
    unread: row.unread ?? 0,
    receipts: ctx.store.receipts(row.id),
  };
}

/** After an API change was pushed to these users: their sessions' conversation lists are current again, so the
 *  next check for admin CLI changes (admin-changes.ts) does not push it a second time. */
function rememberConvs(ctx: Ctx, userIds: Iterable<number>): void {
  for (const uid of new Set(userIds)) {
    const sessions = ctx.hub.sessionsOf(uid);
    if (!sessions) continue;
    const now = ctx.store.convSignatures(uid);
    for (const x of sessions) if (x.convs) x.convs = now;
  }
}

export function convUpdate(ctx: Ctx, convId: number): string {
  const conv = ctx.store.convById(convId)!;
  const members = ctx.store.memberNames(convId);
  return JSON.stringify({ type: 'conv_update', conv: convId, kind: conv.kind, name: conv.name ?? members.join(', '), members });
}

function takeToken(ctx: Ctx, s: Session): boolean {
  const now = Date.now();
  const { messages_per_second: rate, message_burst: burst } = ctx.config.limits;
  s.tokens = Math.min(burst, s.tokens + ((now - s.lastRefill) / 1000) * rate);
  s.lastRefill = now;
  if (s.tokens < 1) return false;
  s.tokens -= 1;
  return true;
}

/** Streams everything after `cursor` to the session in pages, then marks it live. */
function runSync(ctx: Ctx, s: Session, cursor: number): void {
  if (s.ws.readyState !== 1 || !s.user) return;
  const rows = ctx.store.messages.since(s.user.id, cursor, SYNC_PAGE);
  const messages = rows.map((m) => wireMessage(m, m.sender ?? '?'));
  const more = rows.length === SYNC_PAGE;
  const next = rows.length ? rows[rows.length - 1].id : cursor;
  ctx.hub.write(s, JSON.stringify({ type: 'sync', messages, more, cursor: next }));
  ctx.metrics.delivered.inc(messages.length);
  if (more) setImmediate(() => runSync(ctx, s, next));
  else {
    s.live = true;
    ctx.hub.write(s, JSON.stringify({ type: 'synced', cursor: next }));
  }
}

function presenceFrame(ctx: Ctx, user: UserRow): string {
  const fresh = ctx.store.userById(user.id);
  return JSON.stringify({ type: 'presence', user: user.name, online: ctx.hub.isOnline(user.id), last_seen: fresh?.last_seen ?? null });
}

export function announcePresence(ctx: Ctx, user: UserRow, online: boolean): void {
  const at = Date.now();
  const push = () => ctx.hub.fanout(ctx.store.contactIds(user.id), presenceFrame(ctx, user), undefined, user.id);
  if (online) push();
  else ctx.batcher.run(() => ctx.store.setLastSeen(user.id, at)).then(push, () => {});
}

async function authenticate(ctx: Ctx, s: Session, f: any): Promise<void> {
  const user = ctx.store.userForToken(f.token);
  if (!user) {
    ctx.access.record('ws_auth_failed', { ip: s.ip });
    throw new FrameError('auth_failed', 'token is unknown, expired or revoked; log in again');
  }
  if (s.user) throw new FrameError('bad_field', 'this connection is already authenticated');
  s.user = user;
  s.tokenHash = tokenHash(f.token);
  s.convs = ctx.store.convSignatures(user.id);
  const cameOnline = ctx.hub.add(s);
  ctx.metrics.online.set(ctx.hub.onlineUsers());
  ctx.access.record('connect', { user: user.name, ip: s.ip });
  const cursor = ctx.store.messages.durableId;
  reply(ctx, s, f.ref, { type: 'auth_ok', user: user.name, is_admin: user.is_admin === 1, cursor });
  // a cursor past the newest message (the database was restored from an older backup, or a client bug) is clamped:
  // echoed back, a client storing it would skip the next messages
  if (typeof f.cursor === 'number') runSync(ctx, s, Math.min(f.cursor, cursor));
  else s.live = true;
  if (cameOnline) announcePresence(ctx, user, true);
}

async function send(ctx: Ctx, s: Session, f: any, receivedAt: bigint): Promise<void> {
  const user = s.user!;
  if (!takeToken(ctx, s)) throw new FrameError('rate_limited', `more than ${ctx.config.limits.messages_per_second} messages per second; slow down and resend`);
  if (f.client_id.length > MAX_CLIENT_ID && [...f.client_id].length > MAX_CLIENT_ID) throw new FrameError('bad_field', `send: client_id longer than ${MAX_CLIENT_ID} characters`);
  if (Buffer.byteLength(f.body, 'utf8') > ctx.config.limits.max_message_bytes) {
    throw new FrameError('body_too_large', `message body over ${ctx.config.limits.max_message_bytes} bytes`);
  }
  const conv: number = f.conv;
  // no savepoint: the membership and client_id checks throw before anything is written
  const result = await ctx.batcher.run(() => {
    requireMember(ctx, conv, user.id);
    const { row, duplicate } = ctx.store.messages.append(conv, user.id, f.client_id, f.body);
    // a resend names the same conversation; another one means the client reused the id for a new message
    if (duplicate && row.conv_id !== conv) throw new FrameError('bad_field', `send: client_id ${f.client_id} is already the id of your message ${row.seq} in conversation ${row.conv_id}; use a new client_id for every message`);
    return { msg: row, duplicate, members: duplicate ? [] : ctx.store.memberIds(conv) };
  }, false);
  const { msg } = result;
  reply(ctx, s, f.ref, { type: 'ack', conv: msg.conv_id, seq: msg.seq, mid: msg.id, ts: msg.created_at, client_id: msg.client_id, duplicate: result.duplicate });
  if (!result.duplicate) {
    ctx.metrics.received.inc();
    const text = JSON.stringify({ type: 'msg', ...wireMessage(msg, user.name) });
    ctx.metrics.delivered.inc(ctx.hub.fanout(result.members, text, s));
  }
  ctx.metrics.e2e.observe(Number(process.hrtime.bigint() - receivedAt) / 1e9);
}

async function handle(ctx: Ctx, s: Session, f: any, receivedAt: bigint): Promise<void> {
  if (f.type === 'auth') return authenticate(ctx, s, f);
  if (!s.user) throw new FrameError('not_authenticated', 'send an "auth" frame with your token first');
  if (f.type === 'ping') return reply(ctx, s, f.ref, { type: 'pong' });
  const user = s.user;
  const { store, batcher, hub } = ctx;
  switch (f.type) {
    case 'send': return send(ctx, s, f, receivedAt);
    case 'direct': {
      const other = userNamed(ctx, f.user);
      if (other.id === user.id) throw new FrameError('bad_field', 'direct: a direct conversation needs another user');
      const { conv, created } = await batcher.run(() => store.directConv(user.id, other.id));
      const row = store.userConvs(user.id).find((c) => c.id === conv.id);
      reply(ctx, s, f.ref, { type: 'conv', ...wireConv(ctx, row) });
      if (created) { hub.fanout([other.id], convUpdate(ctx, conv.id)); rememberConvs(ctx, [user.id, other.id]); }
      return;
    }
    case 'group_create': {
      const bad = groupNameProblem(f.name);
      if (bad) throw new FrameError('bad_field', `group_create: ${bad}`);
      const ids = [user.id, ...f.members.map((n: string) => userNamed(ctx, n).id)];
      const conv = await batcher.run(() => store.createGroup(f.name, ids));
      const row = store.userConvs(user.id).find((c) => c.id === conv.id);
      reply(ctx, s, f.ref, { type: 'conv', ...wireConv(ctx, row) });
      hub.fanout(ids, convUpdate(ctx, conv.id), s);
      rememberConvs(ctx, ids);
      return;
    }
    case 'group_rename': case 'group_add': case 'group_remove': case 'group_leave': {
      const conv: number = f.conv;
      const target = f.type === 'group_add' || f.type === 'group_remove' ? userNamed(ctx, f.user) : user;
      const before = await batcher.run(() => {
        requireMember(ctx, conv, user.id);
        if (store.convById(conv)!.kind !== 'group') throw new FrameError('not_a_group', `conversation ${conv} is a direct conversation`);
        const members = store.memberIds(conv);
        if (f.type === 'group_rename') {
          const bad = groupNameProblem(f.name);
          if (bad) throw new FrameError('bad_field', `group_rename: ${bad}`);
          store.renameGroup(conv, f.name);
        } else if (f.type === 'group_add') store.addMember(conv, target.id);
        else if (!store.removeMember(conv, target.id)) throw new FrameError('not_member', `${target.name} is not in conversation ${conv}`);
        return members;
      });
      reply(ctx, s, f.ref, { type: 'ok' });
      const now = store.memberIds(conv);
      hub.fanout(new Set([...before, ...now].filter((id) => now.includes(id))), convUpdate(ctx, conv), s);
      if (f.type === 'group_remove' || f.type === 'group_leave') hub.fanout([target.id], JSON.stringify({ type: 'conv_removed', conv }), s);
      rememberConvs(ctx, [...before, ...now]);
      return;
    }
    case 'convs':
      return reply(ctx, s, f.ref, { type: 'convs', convs: store.userConvs(user.id).map((row) => wireConv(ctx, row)) });
    case 'history': {
      requireMember(ctx, f.conv, user.id);
      const limit = Math.min(f.limit ?? 50, 200);
      const rows = store.messages.history(f.conv, f.before ?? Number.MAX_SAFE_INTEGER, limit);
      return reply(ctx, s, f.ref, { type: 'history', conv: f.conv, messages: rows.map((m) => wireMessage(m, m.sender ?? '?')), more: rows.length === limit });
    }
    case 'receipt': {
      if (f.kind !== 'delivered' && f.kind !== 'read') throw new FrameError('bad_field', 'receipt: kind must be "delivered" or "read"');
      const members = await batcher.run(() => {
        requireMember(ctx, f.conv, user.id);
        const last = store.messages.lastSeq(f.conv);
        if (f.seq > last) throw new FrameError('bad_field', `receipt: seq ${f.seq} is past the last message of conversation ${f.conv} (${last})`);
        if (f.kind === 'read') store.setRead(f.conv, user.id, f.seq);
        else store.setDelivered(f.conv, user.id, f.seq);
        return store.memberIds(f.conv);
      });
      reply(ctx, s, f.ref, { type: 'ok' });
      hub.fanout(members, JSON.stringify({ type: 'receipt', conv: f.conv, user: user.name, kind: f.kind, seq: f.seq }), s);
      return;
    }
    case 'typing': {
      requireMember(ctx, f.conv, user.id);
      hub.fanout(store.memberIds(f.conv), JSON.stringify({ type: 'typing', conv: f.conv, user: user.name, on: f.on !== false }), undefined, user.id);
      return;
    }
    case 'presence': {
      const list = [...new Set<string>(f.users)].slice(0, 500).map((name: string) => {
        const u = store.userByName(name);
        return u ? { user: u.name, online: hub.isOnline(u.id), last_seen: u.last_seen } : { user: name, online: false, last_seen: null, unknown: true };
      });
      return reply(ctx, s, f.ref, { type: 'presence_list', users: list });
    }
  }
}

/** Entry point for one raw frame: size, JSON and schema checks, then the handler; errors become error frames. */
export function onFrame(ctx: Ctx, s: Session, data: Buffer, isBinary: boolean): void {
  const receivedAt = process.hrtime.bigint();
  s.lastActive = Date.now();
  if (data.length > ctx.config.limits.max_frame_bytes) {
    return sendError(ctx, s, 'frame_too_large', `frame of ${data.length} bytes exceeds the ${ctx.config.limits.max_frame_bytes}-byte limit`);
  }
  let parsed: unknown;
  try {
    if (isBinary) throw new Error('binary');
    parsed = JSON.parse(data.toString('utf8'));
  } catch {
    return sendError(ctx, s, 'bad_json', 'frame is not valid JSON text');
  }
  const ref = (parsed as any)?.ref;
  let frame: any;
  try {
    frame = validateRequest(parsed);
  } catch (err: any) {
    return sendError(ctx, s, err.code ?? 'bad_json', err.message, ref, (parsed as any)?.type);
  }
  handle(ctx, s, frame, receivedAt).catch((err: any) => {
    if (err instanceof FrameError) return sendError(ctx, s, err.code, err.message, ref, frame.type);
    // the admin removed this account (another process) and the 2 s sweep has not closed the socket yet
    if (s.user && !ctx.store.userById(s.user.id)) {
      sendError(ctx, s, 'auth_failed', 'this account was removed', ref, frame.type);
      return s.ws.close(4001, 'token revoked or expired');
    }
    ctx.log.error('frame handler failed', { type: frame.type, error: String(err?.message ?? err) });
    sendError(ctx, s, 'internal', 'the server could not process this frame; try again', ref, frame.type);
  });
}
