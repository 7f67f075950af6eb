// Invites are single-use, tokens expire, silent connections are closed by the ping/idle timeout, presence tracks last seen.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import WebSocket from 'ws';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
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
    await expect(register(srv.url, 'kim', 'pw-long-enough')).rejects.toMatchObject({ code: 'invite_required' });
    await expect(register(srv.url, 'kim', 'pw-long-enough', 'wrong-code')).rejects.toMatchObject({ code: 'bad_invite' });
    // a short password is refused (auth.min_password_length, default 8) and does not use up the invite
    await expect(register(srv.url, 'kim', 'seven77', code)).rejects.toMatchObject({ code: 'bad_field', message: 'bad_field: password must have at least 8 characters' });
    const r = await register(srv.url, 'kim', 'pw-long-enough', code);
    expect(r.user).toBe('kim');
    await expect(register(srv.url, 'lea', 'pw-long-enough', code)).rejects.toMatchObject({ code: 'bad_invite' });
    // without a valid invite nobody learns whether a name exists; with one, a taken name is refused and the code kept
    await expect(register(srv.url, 'ivy', 'pw-long-enough', code)).rejects.toMatchObject({ code: 'bad_invite' });
    const code2 = admin(srv, ['invites', 'create']).stdout.trim();
    await expect(register(srv.url, 'ivy', 'pw-long-enough', code2)).rejects.toMatchObject({ code: 'name_taken' });
    await expect(register(srv.url, 'ivy2', 'pw-long-enough', 123 as any)).rejects.toMatchObject({ code: 'bad_field' });
    expect((await register(srv.url, 'ivy2', 'pw-long-enough', code2)).user).toBe('ivy2');
    expect((await login(srv.url, 'kim', 'pw-long-enough')).token).toBeTruthy();
    expect(admin(srv, ['invites', 'list']).stdout).toMatch(/used by kim/);
  });

  it('admin groups: the same name rules as the API, and a name that several groups share must be given as an id', () => {
    expect(admin(srv, ['groups', 'create', '', 'ivy']).stderr).toMatch(/a group name must not be empty/);
    expect(admin(srv, ['groups', 'create', 'x'.repeat(65), 'ivy']).stderr).toMatch(/at most 64 characters/);
    expect(admin(srv, ['groups', 'create', 'team\u202egnp', 'ivy']).stderr).toMatch(/invisible or text-direction characters/);
    expect(admin(srv, ['groups', 'create', '\u200b', 'ivy']).stderr).toMatch(/invisible or text-direction characters/);
    for (const bad of ['\u061cteam', '\u3164', 'a\u00adb', '\u{E0041}', 'x\u2028y']) expect(admin(srv, ['groups', 'create', bad, 'ivy']).code, JSON.stringify(bad)).toBe(2);
    expect(admin(srv, ['groups', 'create', 'team ', 'ivy']).stderr).toMatch(/must not start or end with spaces/);
    const family = admin(srv, ['groups', 'create', '\u{1F468}\u200D\u{1F469}\u200D\u{1F467} home', 'ivy']); // a ZWJ emoji sequence is a name
    expect(family.code, family.stderr).toBe(0);
    admin(srv, ['groups', 'delete', family.stdout.match(/created group (\d+)/)![1]]);
    const emoji = admin(srv, ['groups', 'create', '\u{1F600}'.repeat(64), 'ivy']); // 64 characters, 128 UTF-16 units
    expect(emoji.code, emoji.stderr).toBe(0);
    admin(srv, ['groups', 'delete', emoji.stdout.match(/created group (\d+)/)![1]]);
    const a = admin(srv, ['groups', 'create', 'team', 'ivy']).stdout.match(/created group (\d+)/)![1];
    const b = admin(srv, ['groups', 'create', 'team', 'jon']).stdout.match(/created group (\d+)/)![1];
    const amb = admin(srv, ['groups', 'add', 'team', 'jon']);
    expect(amb.code).toBe(1);
    expect(amb.stderr).toContain(`2 groups are named team (ids ${a}, ${b})`);
    expect(admin(srv, ['groups', 'add', a, 'jon']).code).toBe(0);
    expect(admin(srv, ['groups', 'rename', a, ' ']).stderr).toMatch(/must not be empty/);
    expect(admin(srv, ['groups', 'list']).stdout).toMatch(new RegExp(`^${a}\tteam\t.*jon`, 'm'));
  });

  it('admin CLI: exit 2 for bad usage, 1 for an operation that cannot be done; one wording; edge inputs refused', async () => {
    const expectExit = (args: string[], code: number, text: RegExp, stdin = '') => {
      const r = admin(srv, args, stdin);
      expect([r.code, r.stderr.split('\n')[0]], args.join(' ')).toEqual([code, expect.stringMatching(text)]);
    };
    expectExit(['frobnicate'], 2, /unknown command/);
    expectExit(['users'], 2, /users needs a subcommand/);
    expectExit(['users', 'add'], 2, /missing NAME/);
    expectExit(['users', 'add', 'Bad!'], 2, /NAME must be/, 'pw');
    expectExit(['invites', 'create', '--days', '0'], 2, /--days must be/);
    expectExit(['invites', 'create', '--days', '0.0001'], 2, /--days must be/);
    expectExit(['invites', 'create', '30'], 2, /invites create: unexpected argument "30"/);
    expectExit(['users', 'add', 'frank', '--adminn'], 2, /users add: unknown option --adminn \(it takes --admin\)/, 'pw');
    expectExit(['users', 'remove', 'ivy', 'jon'], 2, /users remove: unexpected argument "jon"/);
    expectExit(['backup', '--keep', '3'], 2, /backup: unknown option --keep/);
    expectExit(['invites', 'create', '--days', '3', '--days', '5'], 2, /--days is given twice/);
    expectExit(['users', 'add', 'x', '--admin=yes'], 2, /--admin takes no value/, 'pw');
    expectExit(['users', 'add', 'big'], 2, /longer than 8 KiB/, 'x'.repeat(1 << 20));
    expect(admin(srv, ['invites', 'create', '--days=3']).code).toBe(0);
    expect(admin(srv, ['groups', 'create', '--', '-dash-', 'ivy']).stdout).toMatch(/^created group \d+ -dash-$/m);
    expect(admin(srv, ['users', 'list', '-h']).stdout).toMatch(/^usage: pibake-im-admin/);
    expect(admin(srv, ['backup', '--help'])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^usage: pibake-im-admin/) });
    expectExit(['users', 'add', 'ivy'], 1, /user ivy already exists/, 'pw');
    expectExit(['users', 'remove', 'nobody'], 1, /no user nobody/);
    expectExit(['users', 'passwd', 'nobody'], 1, /no user nobody/, 'pw');
    expectExit(['groups', 'add', '999999', 'ivy'], 1, /no group 999999/);
    // a password must be one line: several are refused, nothing is created; one trailing newline is fine
    expectExit(['users', 'add', 'multi'], 2, /password on stdin has several lines/, 'first\nsecond\n');
    expectExit(['users', 'add', 'long'], 2, /has 1025 characters; logins take at most 1024/, 'x'.repeat(1025));
    expectExit(['hash-password'], 2, /has 1025 characters; logins take at most 1024/, 'x'.repeat(1025));
    expect(admin(srv, ['users', 'list']).stdout).not.toMatch(/^multi/m);
    expect(admin(srv, ['users', 'add', 'neo', '--admin'], 'pw\n').stdout.trim()).toBe('added user neo (admin)');
    expect(admin(srv, ['users', 'add', 'zoe'], 'pw').stdout.trim()).toBe('added user zoe');
    expect((await login(srv.url, 'neo', 'pw')).is_admin).toBe(true);
    // an invite used by a user who was removed since
    const code = admin(srv, ['invites', 'create']).stdout.trim();
    await register(srv.url, 'gone', 'pw-long-enough', code);
    expect(admin(srv, ['users', 'remove', 'gone']).stdout.trim()).toBe('removed user gone');
    const invites = admin(srv, ['invites', 'list']).stdout;
    expect(invites).toMatch(/used by a removed user/);
    expect(invites).not.toMatch(/null/);
    // groups: all-digit names could not be addressed by name (they are ids), in the CLI and in the API
    expectExit(['groups', 'create', '42', 'ivy'], 2, /must not be only digits/);
    const g = admin(srv, ['groups', 'create', 'crew', 'ivy']).stdout.match(/created group (\d+)/)![1];
    expectExit(['groups', 'rename', g, '7'], 2, /must not be only digits/);
    expect(admin(srv, ['groups', 'add', 'crew', 'zoe']).stdout.trim()).toBe(`added zoe to group ${g} crew`);
    expect(admin(srv, ['groups', 'add', 'crew', 'zoe']).stdout.trim()).toBe(`zoe is already in group ${g} crew`);
    expect(admin(srv, ['groups', 'remove', 'crew', 'zoe']).stdout.trim()).toBe(`removed zoe from group ${g} crew`);
    expectExit(['groups', 'remove', 'crew', 'zoe'], 1, new RegExp(`zoe is not in group ${g} crew`));
    expect(admin(srv, ['groups', 'rename', 'crew', 'crew 2']).stdout.trim()).toBe(`renamed group ${g} crew to crew 2`);
    const ivy = await ImConnection.connect(srv.wsUrl, (await login(srv.url, 'ivy', 'pw')).token);
    await expect(ivy.createGroup('42', [])).rejects.toMatchObject({ code: 'bad_field', message: expect.stringMatching(/only digits/) });
    await expect(ivy.renameGroup(Number(g), '12')).rejects.toMatchObject({ code: 'bad_field' });
    expect((await ivy.createGroup('4 2', [])).name).toBe('4 2');
    ivy.close();
    expect(admin(srv, ['groups', 'delete', g]).stdout.trim()).toBe(`deleted group ${g} crew 2`);
    // backup: only the backup dir itself is created, never a missing parent
    const missing = join(srv.dir, 'no', 'such', 'dir');
    expectExit(['backup', missing], 1, /no\/such does not exist \(parent of the backup dir/);
    expect(existsSync(join(srv.dir, 'no'))).toBe(false);
    const made = admin(srv, ['backup', join(srv.dir, 'extra-backups')]);
    expect(made.code, made.stderr).toBe(0);
    expect(readdirSync(join(srv.dir, 'extra-backups')).filter((f) => f.endsWith('.db'))).toHaveLength(1);
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
