// Every bad frame kind gets its own error frame, unauthenticated access is refused, limits hold, nothing crashes.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startTestServer, addUsers, waitFor, type TestServer } from './helpers.ts';
import { login, logout, ImConnection } from '../src/client.ts';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer({ limits: { max_frame_bytes: 2048, max_message_bytes: 200, messages_per_second: 5, message_burst: 5, max_connections: 6 } });
  addUsers(srv, ['erin', 'frank', 'gina']);
}, 60000);
afterAll(async () => { await srv?.stop(); });

/** A raw socket that records every frame it receives. */
async function raw(): Promise<{ ws: WebSocket; frames: any[]; next: (pred?: (f: any) => boolean) => Promise<any> }> {
  const ws = new WebSocket(srv.wsUrl);
  const frames: any[] = [];
  ws.addEventListener('message', (e) => frames.push(JSON.parse(String(e.data))));
  await new Promise((r) => ws.addEventListener('open', r, { once: true }));
  let seen = 0;
  const next = (pred: (f: any) => boolean = () => true) => waitFor(() => {
    const i = frames.findIndex((f, idx) => idx >= seen && pred(f));
    if (i < 0) return false;
    seen = i + 1;
    return frames[i];
  }, 5000, 'frame');
  return { ws, frames, next };
}

describe('bad input', () => {
  it('HTTP: 405 for the wrong method, bad_json for a non-object body, strict headers on pages', async () => {
    const get = await fetch(`${srv.url}/api/login`);
    expect([get.status, get.headers.get('allow'), (await get.json()).error]).toEqual([405, 'POST', 'method_not_allowed']);
    for (const body of ['[1]', 'null', '"x"']) {
      const r = await fetch(`${srv.url}/api/login`, { method: 'POST', body });
      expect([r.status, (await r.json()).error]).toEqual([400, 'bad_json']);
    }
    for (const [method, path] of [['POST', '/'], ['PUT', '/status'], ['DELETE', '/index.html']]) {
      const r = await fetch(srv.url + path, { method });
      expect([method, path, r.status, r.headers.get('allow'), (await r.json()).error]).toEqual([method, path, 405, 'GET, HEAD', 'method_not_allowed']);
    }
    expect((await fetch(`${srv.url}/no-such-page`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${srv.url}/`, { method: 'HEAD' })).status).toBe(200);
    const page = await fetch(`${srv.url}/`);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'self'.*frame-ancestors 'none'/);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    const erin = await ImConnection.connect(srv.wsUrl, (await login(srv.url, 'erin', 'pw')).token);
    await expect(erin.direct('erin')).rejects.toMatchObject({ code: 'bad_field' });
    erin.close();
    await new Promise((r) => setTimeout(r, 300)); // its slot is free before the connection-limit test
  });

  it('brakes password guessing: after 5 failures for a name from one address, 429 with Retry-After, then 1 s later it may try', async () => {
    const post = (password: string) => fetch(`${srv.url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'gina', password }) });
    // parallel guesses count as they fly: of 8 at once, 5 are verified (401) and 3 told to wait
    const first = await Promise.all(Array.from({ length: 8 }, (_, i) => post(`guess${i}`)));
    expect(first.map((r) => r.status).sort()).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
    const blocked = await post('pw');
    expect([blocked.status, blocked.headers.get('retry-after'), (await blocked.json()).error]).toEqual([429, '1', 'too_many_attempts']);
    expect((await fetch(`${srv.url}/api/login`, { method: 'POST', body: JSON.stringify({ name: 'erin', password: 'pw' }) })).status).toBe(200); // other names are not braked
    await new Promise((r) => setTimeout(r, 1100));
    const right = await post('pw');
    expect(right.status).toBe(200);
    await logout(srv.url, (await right.json()).token);
  });

  it('refuses unauthenticated HTTP and WebSocket use', async () => {
    expect((await fetch(`${srv.url}/healthz`)).status).toBe(200);
    for (const path of ['/metrics', '/api/me']) {
      const res = await fetch(srv.url + path);
      expect(res.status).toBe(401);
      expect((await res.json()).error).toBe('not_authenticated');
    }
    expect((await fetch(`${srv.url}/api/me`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
    await expect(login(srv.url, 'erin', 'wrong')).rejects.toMatchObject({ code: 'auth_failed' });
    await expect(login(srv.url, 'nobody', 'pw')).rejects.toMatchObject({ code: 'auth_failed' });
    const r = await fetch(`${srv.url}/api/register`, { method: 'POST', body: JSON.stringify({ name: 'mallory', password: 'x' }) });
    expect(r.status).toBe(403);

    const { ws, next } = await raw();
    ws.send(JSON.stringify({ type: 'convs', ref: 1 }));
    expect(await next()).toMatchObject({ type: 'error', code: 'not_authenticated', ref: 1 });
    ws.send(JSON.stringify({ type: 'ping', ref: 'p' })); // the first frame must be auth: ping too is refused
    expect(await next()).toMatchObject({ type: 'error', code: 'not_authenticated', ref: 'p', for: 'ping' });
    ws.send(JSON.stringify({ type: 'auth', token: 'forged', ref: 2 }));
    expect(await next()).toMatchObject({ type: 'error', code: 'auth_failed', ref: 2 });
    ws.close();
  });

  it('answers each bad frame kind with an error naming the problem', async () => {
    const { token } = await login(srv.url, 'erin', 'pw');
    const { ws, next } = await raw();
    ws.send(JSON.stringify({ type: 'auth', token, ref: 0 }));
    expect(await next()).toMatchObject({ type: 'auth_ok', user: 'erin' });
    ws.send(JSON.stringify({ type: 'ping', ref: 'p' }));
    expect(await next()).toEqual({ type: 'pong', ref: 'p' });
    const cases: [string | Uint8Array<ArrayBuffer>, string][] = [
      ['this is not json', 'bad_json'],
      [new Uint8Array([1, 2, 3]) as Uint8Array<ArrayBuffer>, 'bad_json'],
      ['[1,2]', 'bad_json'],
      [JSON.stringify({ type: 'send', conv: 1, client_id: 'x', body: 'y'.repeat(3000) }), 'frame_too_large'],
      [JSON.stringify({ type: 'frobnicate', ref: 9 }), 'unknown_type'],
      [JSON.stringify({ nope: 1 }), 'unknown_type'],
      [JSON.stringify({ type: 'send', conv: 'x', client_id: 'a', body: 'b' }), 'bad_field'],
      [JSON.stringify({ type: 'send', conv: 1, body: 'b' }), 'bad_field'],
      [JSON.stringify({ type: 'send', conv: 99999, client_id: 'a', body: 'b' }), 'no_such_conv'],
      [JSON.stringify({ type: 'direct', user: 'ghost' }), 'no_such_user'],
      [JSON.stringify({ type: 'receipt', conv: 1, kind: 'seen', seq: 1 }), 'bad_field'],
    ];
    for (const [frame, code] of cases) {
      ws.send(frame);
      const f = await next((x) => x.type === 'error');
      expect(f.code, `frame ${String(frame).slice(0, 40)}`).toBe(code);
      expect(f.message.length).toBeGreaterThan(5);
    }
    const c = await ImConnection.connect(srv.wsUrl, token);
    const conv = await c.direct('frank');
    await expect(c.send(conv.conv, 'z'.repeat(201), 'big')).rejects.toMatchObject({ code: 'body_too_large' });
    await c.send(conv.conv, 'one', 'r1');
    await expect(c.receipt(conv.conv, 'read', 1e9)).rejects.toMatchObject({ code: 'bad_field' }); // past the last message
    const frank = await ImConnection.connect(srv.wsUrl, (await login(srv.url, 'frank', 'pw')).token);
    const group = await frank.createGroup('private', ['gina']);
    await expect(c.send(group.conv, 'hi', 'intrude')).rejects.toMatchObject({ code: 'not_member' });
    await expect(c.renameGroup(conv.conv, 'x')).rejects.toMatchObject({ code: 'not_a_group' });
    // rate limit: burst of 5 then rate_limited
    const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => c.send(conv.conv, 'r', `rate-${i}`)));
    expect(results.filter((r) => r.status === 'rejected' && (r.reason as any).code === 'rate_limited').length).toBeGreaterThan(3);
    // oversize beyond the hard cap closes the socket
    ws.send('x'.repeat(100000));
    await new Promise((r) => ws.addEventListener('close', r, { once: true }));
    expect((await fetch(`${srv.url}/healthz`)).status).toBe(200);
    c.close(); frank.close();
  }, 20000);

  it('logout revokes the token and closes its sessions; connection limit holds', async () => {
    const { token } = await login(srv.url, 'gina', 'pw');
    const c = await ImConnection.connect(srv.wsUrl, token);
    await logout(srv.url, token);
    const closed = await c.closed;
    expect(closed.code).toBe(4001);
    await expect(ImConnection.connect(srv.wsUrl, token)).rejects.toMatchObject({ code: 'auth_failed' });

    const sockets: WebSocket[] = [];
    const errors: any[] = [];
    for (let i = 0; i < 8; i++) {
      const ws = new WebSocket(srv.wsUrl);
      ws.addEventListener('message', (e) => errors.push(JSON.parse(String(e.data))));
      sockets.push(ws);
      await new Promise((r) => { ws.addEventListener('open', r, { once: true }); ws.addEventListener('close', r, { once: true }); });
    }
    await waitFor(() => errors.some((f) => f.code === 'too_many_connections'), 5000, 'limit');
    for (const s of sockets) s.close();
  });
});
