// HTTP side of the port: health check, login/register/logout, metrics, and the static web client.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, extname } from 'node:path';
import type { Ctx } from './ws-handlers.ts';
import { hashPassword, verifyPassword, newToken, tokenHash } from './password.ts';
import { NAME_RE, type UserRow } from './store.ts';
import { LoginThrottle } from './login-throttle.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.json': 'application/json', '.ico': 'image/x-icon',
};
const MAX_BODY = 16 * 1024;
const POST_ONLY = new Set(['/api/login', '/api/register', '/api/logout']);
const loginThrottle = new LoginThrottle();
/** Static pages: scripts and styles only from this origin, WebSockets back to it, never framed, no referrer leaks. */
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'x-frame-options': 'DENY',
};
// a precomputed hash so that unknown user names cost the same scrypt time as wrong passwords
const DUMMY_HASH = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

/** Loads every file of the built web client into memory, keyed by URL path. */
export function loadStatic(webDir: string): Map<string, { type: string; body: Buffer }> {
  const files = new Map<string, { type: string; body: Buffer }>();
  if (!existsSync(webDir)) return files;
  for (const name of readdirSync(webDir)) {
    const body = readFileSync(join(webDir, name));
    files.set('/' + name, { type: TYPES[extname(name)] ?? 'application/octet-stream', body });
  }
  const index = files.get('/index.html');
  if (index) files.set('/', index);
  const status = files.get('/status.html');
  if (status) files.set('/status', status);
  return files;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text), 'x-content-type-options': 'nosniff' });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<any> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      // Too large: stop keeping it but drain the rest, so the 413 answer reaches the client instead of a reset.
      if (size > MAX_BODY) { reject(new HttpError(413, 'body_too_large', `request body over ${MAX_BODY} bytes`)); req.removeAllListeners('data'); req.resume(); return; }
      chunks.push(c);
    });
    req.on('end', () => {
      let body: unknown;
      try { body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'); } catch { return reject(new HttpError(400, 'bad_json', 'request body is not valid JSON')); }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) return reject(new HttpError(400, 'bad_json', 'request body must be a JSON object'));
      resolve(body);
    });
    req.on('error', reject);
  });
}

class HttpError extends Error {
  status: number; code: string;
  constructor(status: number, code: string, message: string) { super(message); this.status = status; this.code = code; }
}

function bearer(req: IncomingMessage): string | null {
  const h = req.headers.authorization;
  const m = h ? /^bearer\s+(\S+)\s*$/i.exec(h) : null; // the scheme name is case-insensitive (RFC 9110)
  return m ? m[1] : null;
}

function requireUser(ctx: Ctx, req: IncomingMessage): { user: UserRow; token: string } {
  const token = bearer(req);
  const user = token ? ctx.store.userForToken(token) : undefined;
  if (!token || !user) throw new HttpError(401, 'not_authenticated', 'send "Authorization: Bearer <token>" from /api/login');
  return { user, token };
}

function credentials(body: any): { name: string; password: string } {
  if (typeof body?.name !== 'string' || !NAME_RE.test(body.name)) throw new HttpError(400, 'bad_field', 'name must be 1-32 characters from a-z 0-9 _ . -, not starting with - or .');
  if (typeof body?.password !== 'string' || body.password.length < 1 || body.password.length > 1024) throw new HttpError(400, 'bad_field', 'password must be a string of 1-1024 characters');
  return { name: body.name, password: body.password };
}

const BAD_INVITE = 'invite code is unknown, used or expired';

function ipOf(req: IncomingMessage): string { return req.socket.remoteAddress ?? '?'; }

async function issueToken(ctx: Ctx, user: UserRow): Promise<{ token: string; expires_at: number }> {
  const token = newToken();
  // visible at once, durable with the next sync: a token lost in a power cut only means logging in again
  const expires_at = await ctx.batcher.runVisible(() => ctx.store.addToken(token, user.id, ctx.config.auth.token_ttl_days * 86400_000));
  return { token, expires_at };
}

async function route(ctx: Ctx, files: Map<string, { type: string; body: Buffer }>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://x');
  const path = url.pathname;
  if (path === '/healthz') return json(res, 200, { ok: true });
  if (POST_ONLY.has(path) && req.method !== 'POST') {
    res.setHeader('allow', 'POST');
    throw new HttpError(405, 'method_not_allowed', `${path} takes POST`);
  }
  if (req.method === 'POST' && path === '/api/login') {
    const { name, password } = credentials(await readBody(req));
    const wait = loginThrottle.begin(ipOf(req), name);
    if (wait) {
      res.setHeader('retry-after', String(wait));
      throw new HttpError(429, 'too_many_attempts', `too many login attempts for this name from this address (failed, or still being checked); try again in ${wait} s`);
    }
    let ok = false;
    const user = ctx.store.userByName(name);
    try { ok = (await verifyPassword(password, user?.password_hash ?? DUMMY_HASH)) && !!user; } finally { loginThrottle.finish(ipOf(req), name, ok); }
    if (!user || !ok) {
      ctx.access.record('login_failed', { user: name, ip: ipOf(req) });
      throw new HttpError(401, 'auth_failed', 'wrong user name or password');
    }
    ctx.access.record('login', { user: name, ip: ipOf(req) });
    return json(res, 200, { user: user.name, is_admin: user.is_admin === 1, ...(await issueToken(ctx, user)) });
  }
  if (req.method === 'POST' && path === '/api/register') {
    const body = await readBody(req);
    const { name, password } = credentials(body);
    const invite: unknown = body.invite;
    if (invite !== undefined && typeof invite !== 'string') throw new HttpError(400, 'bad_field', 'invite must be a string (the code from the admin)');
    if (!ctx.config.auth.open_registration && invite === undefined) throw new HttpError(403, 'invite_required', 'registration needs an invite code from the admin');
    // the invite first: without a valid one, nobody learns which names exist or gets a password hashed
    if (invite !== undefined && !ctx.store.inviteOpen(invite)) throw new HttpError(403, 'bad_invite', BAD_INVITE);
    const min = ctx.config.auth.min_password_length;
    if ([...password].length < min) throw new HttpError(400, 'bad_field', `password must have at least ${min} characters`);
    if (ctx.store.userByName(name)) throw new HttpError(409, 'name_taken', `user name "${name}" is taken`);
    const hash = await hashPassword(password);
    const user = await ctx.batcher.run(() => {
      if (ctx.store.userByName(name)) throw new HttpError(409, 'name_taken', `user name "${name}" is taken`);
      const id = ctx.store.addUser(name, hash, false);
      if (invite !== undefined && !ctx.store.useInvite(invite, id)) throw new HttpError(403, 'bad_invite', BAD_INVITE);
      return ctx.store.userById(id)!;
    });
    ctx.access.record('register', { user: name, ip: ipOf(req), invite: invite !== undefined });
    return json(res, 201, { user: user.name, is_admin: false, ...(await issueToken(ctx, user)) });
  }
  if (path.startsWith('/api/') || path === '/metrics') {
    const { user, token } = requireUser(ctx, req);
    if (req.method === 'POST' && path === '/api/logout') {
      await ctx.batcher.run(() => ctx.store.revokeToken(token));
      ctx.hub.closeByToken(tokenHash(token));
      ctx.access.record('logout', { user: user.name, ip: ipOf(req) });
      return json(res, 200, { ok: true });
    }
    if (req.method === 'GET' && path === '/api/me') return json(res, 200, { user: user.name, is_admin: user.is_admin === 1 });
    if (req.method === 'GET' && path === '/metrics') {
      if (user.is_admin !== 1) throw new HttpError(403, 'forbidden', 'metrics are for admin accounts');
      const text = await ctx.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': ctx.metrics.registry.contentType, 'cache-control': 'no-store' });
      return void res.end(text);
    }
    throw new HttpError(404, 'not_found', `no API endpoint ${req.method} ${path}`);
  }
  const file = files.get(path);
  if (!file) throw new HttpError(404, 'not_found', `nothing at ${path}`);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    throw new HttpError(405, 'method_not_allowed', `${path} is a static file: GET or HEAD`);
  }
  res.writeHead(200, { 'content-type': file.type, 'content-length': file.body.length, 'cache-control': 'no-cache', ...PAGE_HEADERS });
  res.end(req.method === 'HEAD' ? undefined : file.body);
}

/** The request handler; `inFlight` counts requests whose handling has not finished (shutdown waits for them). */
export function httpHandler(ctx: Ctx, webDir: string): ((req: IncomingMessage, res: ServerResponse) => void) & { inFlight: number } {
  const files = loadStatic(webDir);
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    handler.inFlight++;
    route(ctx, files, req, res).catch((err: any) => {
      if (res.headersSent) return void res.destroy();
      if (err instanceof HttpError) return json(res, err.status, { error: err.code, message: err.message });
      ctx.log.error('http handler failed', { path: req.url, error: String(err?.message ?? err) });
      json(res, 500, { error: 'internal', message: 'the server could not process this request' });
    }).finally(() => handler.inFlight--);
  };
  handler.inFlight = 0;
  return handler;
}
