// Invites are single-use, tokens expire, silent connections are closed by the ping/idle timeout, presence tracks last seen.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import WebSocket from 'ws';
import { startTestServer, addUsers, admin, waitFor, type TestServer } from './helpers.ts';
import { login, register, ImConnection } from '../src/client.ts';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer({ auth: { token_ttl_days: 3 / 86400 }, limits: { ping_interval_seconds: 1, idle_timeout_seconds: 2 } });
  addUsers(srv, ['ivy', 'jon']);
}, 60000);
afterAll(async () => { await srv?.stop(); });

describe('accounts and sessions', () => {
  it('registers with a single-use invite only', async () => {
    const code = admin(srv, ['invites', 'create', '--days', '1']).stdout.trim();
    expect(code.length).toBeGreaterThan(10);
    await expect(register(srv.url, 'kim', 'pw')).rejects.toMatchObject({ code: 'invite_required' });
    await expect(register(srv.url, 'kim', 'pw', 'wrong-code')).rejects.toMatchObject({ code: 'bad_invite' });
    const r = await register(srv.url, 'kim', 'pw', code);
    expect(r.user).toBe('kim');
    await expect(register(srv.url, 'lea', 'pw', code)).rejects.toMatchObject({ code: 'bad_invite' });
    await expect(register(srv.url, 'ivy', 'pw', code)).rejects.toMatchObject({ code: 'name_taken' });
    expect((await login(srv.url, 'kim', 'pw')).token).toBeTruthy();
    expect(admin(srv, ['invites', 'list']).stdout).toMatch(/used by kim/);
  });

  it('admin groups: the same name rules as the API, and a name that several groups share must be given as an id', () => {
    expect(admin(srv, ['groups', 'create', '', 'ivy']).stderr).toMatch(/a group name must not be empty/);
    expect(admin(srv, ['groups', 'create', 'x'.repeat(65), 'ivy']).stderr).toMatch(/at most 64 characters/);
    const a = admin(srv, ['groups', 'create', 'team', 'ivy']).stdout.match(/created group (\d+)/)![1];
    const b = admin(srv, ['groups', 'create', 'team', 'jon']).stdout.match(/created group (\d+)/)![1];
    const amb = admin(srv, ['groups', 'add', 'team', 'jon']);
    expect(amb.code).toBe(2);
    expect(amb.stderr).toContain(`2 groups are named team (ids ${a}, ${b})`);
    expect(admin(srv, ['groups', 'add', a, 'jon']).code).toBe(0);
    expect(admin(srv, ['groups', 'rename', a, ' ']).stderr).toMatch(/must not be empty/);
    expect(admin(srv, ['groups', 'list']).stdout).toMatch(new RegExp(`^${a}\tteam\t.*jon`, 'm'));
  });

  it('users passwd in the admin CLI (another process) closes the open sockets of that user with 4001', async () => {
    addUsers(srv, ['max']);
    const { token } = await login(srv.url, 'max', 'pw');
    const ws = new WebSocket(srv.wsUrl);
    await new Promise((r) => ws.once('open', r));
    const authed = new Promise((r) => ws.on('message', (d) => { if (JSON.parse(String(d)).type === 'auth_ok') r(true); }));
    ws.send(JSON.stringify({ type: 'auth', token }));
    await authed;
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    expect(admin(srv, ['users', 'passwd', 'max'], 'new-password').code).toBe(0);
    expect(await closed).toBe(4001);
  });

  it('tokens expire', async () => {
    const { token } = await login(srv.url, 'ivy', 'pw');
    expect((await fetch(`${srv.url}/api/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 3500));
    expect((await fetch(`${srv.url}/api/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    await expect(ImConnection.connect(srv.wsUrl, token)).rejects.toMatchObject({ code: 'auth_failed' });
  }, 15000);

  it('closes a connection that stops answering pings; presence shows last seen', async () => {
    const jon = await ImConnection.connect(srv.wsUrl, (await login(srv.url, 'jon', 'pw')).token);
    await jon.direct('ivy');
    const { token } = await login(srv.url, 'ivy', 'pw');
    const silent = new WebSocket(srv.wsUrl, { autoPong: false });
    await new Promise((r) => silent.once('open', r));
    silent.send(JSON.stringify({ type: 'auth', token }));
    const pres: any[] = [];
    jon.on('presence', (p) => pres.push(p));
    await waitFor(() => pres.some((p) => p.user === 'ivy' && p.online), 5000, 'online');
    const closed = await new Promise<number>((r) => silent.once('close', (code) => r(code)));
    expect(closed).toBeGreaterThan(0);
    await waitFor(() => pres.some((p) => p.user === 'ivy' && !p.online && p.last_seen > 0), 5000, 'offline with last seen');
    const [p] = await jon.presence(['ivy']);
    expect(p.online).toBe(false);
    expect(p.last_seen).toBeGreaterThan(Date.now() - 60000);
    jon.close();
  }, 20000);
});
