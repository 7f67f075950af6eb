// Config validation gives one clear line (file:line, what, fix); the server refuses a bad config without a stack trace.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../src/config.ts';
import { IM_DIR, NODE, startTestServer, admin } from './helpers.ts';
import { login } from '../src/client.ts';

function err(text: string): string {
  try { parseConfig(text, 'c.yaml'); } catch (e: any) { return e.message; }
  return 'no error';
}

describe('config', () => {
  it('has the documented defaults', () => {
    const c = parseConfig('', 'c.yaml');
    expect(c.listen).toEqual({ address: '0.0.0.0', port: 8080 });
    expect(c.logging.level).toBe('info');
    expect(c.threading.max_threads).toBe(50);
    expect(c.data_dir).toBe('/var/lib/pibake-im');
    expect(c.log_dir).toBe('/var/log/pibake-im');
    expect(c.backup).toEqual({ dir: '/var/lib/pibake-im/backups', retention: 7 });
  });

  it('names file, line, key, problem and fix', () => {
    expect(err('logging:\n  level: loud\n')).toMatch(/^c\.yaml:2: logging\.level: .*error.*fix: use one of error, warn, info, debug$/);
    expect(err('listen:\n  address: 1.2.3.4\n  port: 70000\n')).toMatch(/^c\.yaml:3: listen\.port: .* — fix: /);
    expect(err('threading:\n  max_threads: 0\n')).toMatch(/^c\.yaml:2: threading\.max_threads: .*fix: /);
    expect(err('listen:\n  address: 999.1.1.1\n')).toMatch(/^c\.yaml:2: listen\.address: "999\.1\.1\.1" has the wrong format — fix: give an IPv4 or IPv6 address/);
    expect(err('data_dir: var/lib/x\n')).toMatch(/^c\.yaml:1: data_dir: .* — fix: give an absolute path/);
    expect(err('limits:\n  max_frame_bytes: 10\n')).toMatch(/^c\.yaml:2: limits\.max_frame_bytes: .*1024 \(an auth frame must fit\)/);
    for (const bad of ['localhost', '1::2::3', '::ffff:999.1.1.1']) expect(err(`listen:\n  address: "${bad}"\n`)).toMatch(/^c\.yaml:2: listen\.address: /);
    for (const ok of ['0.0.0.0', '::', '127.0.0.1', 'fe80::1', '::ffff:10.0.0.1']) expect(parseConfig(`listen:\n  address: "${ok}"\n`, 'c.yaml').listen.address).toBe(ok);
    expect(err('limits:\n  max_conections: 5\n')).toMatch(/^c\.yaml:2: limits\.max_conections: unknown key max_conections — fix: remove it or check its spelling \(known: max_connections, /);
    expect(err('listen: [1,\n')).toMatch(/^c\.yaml:\d+: invalid YAML: .* — fix: correct the YAML syntax$/);
    expect(err('bootstrap_admin:\n  name: root\n  password_hash: hunter2\n')).toMatch(/^c\.yaml:3: bootstrap_admin\.password_hash: .*hash-password/);
    // well-formed but not computable: every login would fail with 500
    // and none dearer than the server's own (a wrong password costs as much: a login as a denial of service)
    for (const h of ['scrypt$99999999999$8$1$c2FsdA==$ZGVm', 'scrypt$16384$0$1$c2FsdA==$' + 'A'.repeat(44), 'scrypt$1000$8$1$c2FsdA==$' + 'A'.repeat(44), 'scrypt$1048576$32$16$c2FsdA==$' + 'A'.repeat(44), 'scrypt$16384$8$4$c2FsdA==$' + 'A'.repeat(44)])
      expect(err(`bootstrap_admin:\n  name: root\n  password_hash: "${h}"\n`)).toMatch(/^c\.yaml:3: bootstrap_admin\.password_hash: .*N a power of two ≥ 1024, 128·N·r ≤ 16 MiB/);
    expect(parseConfig(`bootstrap_admin:\n  name: root\n  password_hash: "scrypt$16384$8$1$c2FsdA==$${'A'.repeat(43)}="\n`, 'c.yaml').bootstrap_admin?.name).toBe('root');
    expect(err('- a\n')).toMatch(/^c\.yaml:1: /);
    for (const e of [err('logging:\n  level: loud\n'), err('nope: 1')]) expect(e.split('\n')).toHaveLength(1);
  });

  it('the server exits 2 with one line and no stack trace on a bad config', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pibake-im-cfg-'));
    const file = join(dir, 'config.yaml');
    writeFileSync(file, 'listen:\n  port: "eighty"\n');
    const r = spawnSync(NODE, [join(IM_DIR, 'src/server-main.ts'), '--config', file], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`${file}:2: listen.port`);
    const missing = spawnSync(NODE, [join(IM_DIR, 'src/server-main.ts')], { encoding: 'utf8', env: { ...process.env, PIBAKE_IM_CONFIG: join(dir, 'absent.yaml') } });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/absent\.yaml: cannot read config \(ENOENT\)/);
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(existsSync('/etc/pibake-im/config.yaml'))('the admin CLI without its config stops instead of making a fresh data dir under /var/lib', () => {
    const env = { ...process.env };
    delete env.PIBAKE_IM_CONFIG;
    const r = spawnSync(NODE, [join(IM_DIR, 'src/admin-main.ts'), 'users', 'list'], { encoding: 'utf8', env });
    expect([r.status, r.stderr.trim()]).toEqual([2, 'pibake-im-admin: /etc/pibake-im/config.yaml: cannot read config (ENOENT) — fix: create it or pass --config <file>']);
    expect(existsSync('/var/lib/pibake-im/pibake-im.db')).toBe(false);
  });

  it('--check-config validates without starting: ok, or exit 2 naming a cut-short admin hash', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pibake-im-cfg-'));
    const hash = spawnSync(NODE, [join(IM_DIR, 'src/admin-main.ts'), 'hash-password'], { input: 'pw\n', encoding: 'utf8' }).stdout.trim();
    const file = join(dir, 'config.yaml');
    writeFileSync(file, `bootstrap_admin:\n  name: "root"\n  password_hash: "${hash}"\n`);
    const ok = spawnSync(NODE, [join(IM_DIR, 'src/server-main.ts'), '--config', file, '--check-config'], { encoding: 'utf8', timeout: 20000 });
    expect([ok.status, ok.stdout]).toEqual([0, `pibake-im: ${file}: config ok\n`]);
    writeFileSync(file, `bootstrap_admin:\n  name: "root"\n  password_hash: "${hash.slice(0, -24)}"\n`);
    const cut = spawnSync(NODE, [join(IM_DIR, 'src/server-main.ts'), '--check-config', '--config', file], { encoding: 'utf8', timeout: 20000 });
    expect(cut.status).toBe(2);
    expect(cut.stderr).toContain(`${file}:3: bootstrap_admin.password_hash`);
    rmSync(dir, { recursive: true, force: true });
  });

  it('bootstrap_admin is created from a precomputed hash; logins land in access.log', async () => {
    const hash = spawnSync(NODE, [join(IM_DIR, 'src/admin-main.ts'), 'hash-password'], { input: 's3cret\n', encoding: 'utf8' }).stdout.trim();
    expect(hash).toMatch(/^scrypt\$16384\$8\$1\$/);
    const srv = await startTestServer({ bootstrap_admin: { name: 'root', password_hash: hash } });
    try {
      const r = await login(srv.url, 'root', 's3cret');
      expect(r.is_admin).toBe(true);
      const metrics = await fetch(`${srv.url}/metrics`, { headers: { authorization: `Bearer ${r.token}` } });
      expect(metrics.status).toBe(200);
      const text = await metrics.text();
      for (const name of ['im_messages_received_total', 'im_message_e2e_seconds', 'im_commit_seconds', 'im_connections', 'im_commit_batch_size',
        'nodejs_eventloop_lag_seconds', 'process_resident_memory_bytes', 'im_system_load1', 'im_disk_write_bytes']) expect(text).toContain(name);
      expect(admin(srv, ['users', 'add', 'zed'], 'pw').code).toBe(0);
      expect(admin(srv, ['users', 'list']).stdout).toContain('root (admin)');
      expect(srv.output()).not.toContain('s3cret');
      await srv.stop();
      const log = readFileSync(join(srv.dir, 'log', 'access.log'), 'utf8');
      expect(log).toMatch(/ login user="root"/);
      expect(log).toMatch(/ admin_user_add by=.* user="zed"/);
    } finally { await srv.stop(); }
  }, 30000);
});
