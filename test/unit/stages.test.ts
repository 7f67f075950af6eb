// Stages against a recording fake context: what each writes, with which mode and owner, and the real tools' verdicts.
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FakeContext } from '../support/fake-context.ts';
import { tempDir } from '../support/temp-dir.ts';
import { loadDefinition, parseDefinition } from '../../builder/definition/load.ts';
import { mergeRootOptions } from '../../stages/fstab.ts';
import sysctl from '../../stages/sysctl.ts';
import services from '../../stages/services.ts';
import fstab from '../../stages/fstab.ts';
import logrotate from '../../stages/logrotate.ts';
import cron from '../../stages/cron.ts';
import journald from '../../stages/journald.ts';
import zram from '../../stages/zram.ts';
import imServer from '../../stages/im-server.ts';
import users from '../../stages/users.ts';
import packages from '../../stages/packages.ts';
import { stages } from '../../stages/index.ts';
import { unitFileName } from '../../builder/image/unit-file.ts';
import { ConfigError, formatError, StageError } from '../../builder/errors.ts';

const def = loadDefinition('images/im-server.yaml').def;
const PASSWD = 'root:x:0:0:root:/root:/bin/bash\npibake-im:x:999:999::/var/lib/pibake-im:/usr/sbin/nologin\n';
const PIOS_FSTAB = 'proc            /proc           proc    defaults          0       0\nPARTUUID=076328ed-01  /boot/firmware  vfat    defaults          0       2\nPARTUUID=076328ed-02  /               ext4    defaults,noatime  0       1\n';

describe('fstab', () => {
  it('adds nodiratime to the root line, keeps PARTUUID and other options, and is idempotent', () => {
    const once = mergeRootOptions(PIOS_FSTAB, ['noatime', 'nodiratime']);
    expect(once.after.split(/\s+/)).toEqual(['PARTUUID=076328ed-02', '/', 'ext4', 'defaults,noatime,nodiratime', '0', '1']);
    expect(once.text.split('\n')[1]).toBe(PIOS_FSTAB.split('\n')[1]);
    expect(mergeRootOptions(once.text, ['noatime', 'nodiratime']).text).toBe(once.text);
  });
  it('fails clearly without a root line', () => {
    expect(() => mergeRootOptions('proc /proc proc defaults 0 0\n', ['noatime'])).toThrow(/no line for the root filesystem/);
  });
  it('writes the merged fstab through the context', async () => {
    const ctx = new FakeContext({ '/etc/fstab': PIOS_FSTAB });
    await fstab.apply(ctx, def.stages.fstab!);
    expect(ctx.files.get('/etc/fstab')!.content).toMatch(/^PARTUUID=076328ed-02\s+\/\s+ext4\s+defaults,noatime,nodiratime\s+0\s+1$/m);
  });
});

describe('sysctl', () => {
  it('writes the seed TCP buffers as a drop-in that sysctl parses', async () => {
    const ctx = new FakeContext();
    await sysctl.apply(ctx, def.stages.sysctl!);
    const f = ctx.files.get('/etc/sysctl.d/90-pibake-network.conf')!;
    expect(f.attrs).toEqual({ mode: 0o644, owner: 'root', group: 'root' });
    const kv = Object.fromEntries(f.content.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(' = ')));
    expect(kv).toEqual({ 'net.core.rmem_max': '16777216', 'net.core.wmem_max': '16777216', 'net.ipv4.tcp_rmem': '4096 87380 16777216', 'net.ipv4.tcp_wmem': '4096 87380 16777216' });
    const checks = sysctl.verify!(def.stages.sysctl!);
    expect(checks.map((c) => c.id)).toEqual(['sysctl.net.core.rmem_max', 'sysctl.net.core.wmem_max', 'sysctl.net.ipv4.tcp_rmem', 'sysctl.net.ipv4.tcp_wmem']);
    expect(checks[2]!.guest).toContain('/proc/sys/net/ipv4/tcp_rmem');
    expect(ctx.notes).toEqual([]);
  });
  it('notes a key the build host\'s kernel does not have (a typo), and still writes it', async () => {
    const ctx = new FakeContext();
    await sysctl.apply(ctx, { file: '90-x.conf', values: { 'net.core.wmem_maxx': 16777216, 'vm.swappiness': 10 } });
    expect(ctx.notes).toEqual([`net.core.wmem_maxx: not a key of the build host's kernel (${os.release()}); check its spelling`]);
    expect(ctx.files.get('/etc/sysctl.d/90-x.conf')!.content).toContain('net.core.wmem_maxx = 16777216');
  });
});

describe('services', () => {
  it('disables present units and reports absent ones without failing', async () => {
    const ctx = new FakeContext({}, ['bluetooth.service', 'avahi-daemon.service']);
    ctx.units.enabled.add('bluetooth.service');
    await services.apply(ctx, def.stages.services!);
    expect(ctx.units.enabled.has('bluetooth.service')).toBe(false);
    expect(ctx.notes).toContain('cups.service is not in the image; nothing to disable');
  });
  it('enabling a unit the image does not have stops the build with one line, before any change', async () => {
    const ctx = new FakeContext({}, ['bluetooth.service', 'ssh.service']);
    ctx.units.enabled.add('bluetooth.service');
    const cfg = { disable: ['bluetooth.service'], mask: [], enable: ['ssh.service', 'sshd-typo.service', 'nope.timer'] };
    const err = await services.apply(ctx, cfg).then(() => undefined, (e: unknown) => e);
    expect(formatError(new StageError('services', err))).toBe(
      'pibake: stage services: enable sshd-typo.service, nope.timer: no such unit in the image\n  hint: install the package that ships it in stages.packages, or remove it from services.enable',
    );
    expect([...ctx.units.enabled]).toEqual(['bluetooth.service']);
  });
  it('enables present units after disabling; disabling an absent unit stays a note', async () => {
    const ctx = new FakeContext({}, ['ssh.service']);
    await services.apply(ctx, { disable: ['cups.service'], mask: [], enable: ['ssh.service'] });
    expect([...ctx.units.enabled]).toEqual(['ssh.service']);
    expect(ctx.notes).toEqual(['cups.service is not in the image; nothing to disable']);
  });
  it('an instance is backed by its template unit file', () => {
    expect(['getty@tty2.service', 'getty@.service', 'foo@a.b.socket', 'ssh.service'].map(unitFileName)).toEqual(['getty@.service', 'getty@.service', 'foo@.socket', 'ssh.service']);
  });
  it('a verify check fails for an enabled unit (real sh)', () => {
    const [check] = services.verify!({ disable: ['x.service'], mask: [], enable: [] });
    const fakeBin = tempDir('pibake-systemctl-');
    writeFileSync(path.join(fakeBin, 'systemctl'), '#!/bin/sh\n[ "$1" = is-enabled ] && echo enabled || echo inactive\n', { mode: 0o755 });
    const r = spawnSync('sh', ['-c', check!.guest!], { env: { PATH: `${fakeBin}:/usr/bin:/bin` }, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('enabled=enabled active=inactive\n');
  });
});

describe('logrotate', () => {
  it('renders the seed rule, which the real logrotate accepts and applies', async () => {
    const ctx = new FakeContext();
    await logrotate.apply(ctx, def.stages.logrotate!);
    const text = ctx.files.get('/etc/logrotate.d/pibake-im')!.content;
    for (const w of ['weekly', 'rotate 4', 'compress', 'missingok', 'notifempty']) expect(text).toMatch(new RegExp(`^\\s+${w}$`, 'm'));
    expect(ctx.runs).toEqual([['logrotate', '-d', '/etc/logrotate.d/pibake-im']]);
    // Run the real logrotate on the rendered rule, pointed at a temp log (su/create dropped: no such user here).
    const dir = tempDir('pibake-lr-');
    mkdirSync(path.join(dir, 'log'));
    writeFileSync(path.join(dir, 'log', 'access.log'), 'line\n');
    const rule = text.replace('/var/log/pibake-im/access.log', path.join(dir, 'log', 'access.log')).replace(/^\s+(su|create|postrotate|endscript|sharedscripts).*$/gm, '').replace(/^\s+systemctl.*$/m, '');
    writeFileSync(path.join(dir, 'rule'), rule);
    execFileSync('logrotate', ['-f', '-s', path.join(dir, 'state'), path.join(dir, 'rule')]);
    expect(execFileSync('ls', [path.join(dir, 'log')], { encoding: 'utf8' }).split('\n')).toContain('access.log.1.gz');
  });
});

describe('cron', () => {
  it('writes a file cron accepts: dot-free name, mode 0644, root-owned, final newline, 02:00 daily', async () => {
    const ctx = new FakeContext({ '/etc/passwd': PASSWD });
    await cron.apply(ctx, def.stages.cron!);
    const [[name, f]] = [...ctx.files.entries()].filter(([p]) => p !== '/etc/passwd');
    expect(name).toBe('/etc/cron.d/pibake-im-backup');
    expect(f.attrs).toEqual({ mode: 0o644, owner: 'root', group: 'root' });
    expect(f.content.endsWith('\n')).toBe(true);
    const job = f.content.split('\n').find((l) => /^\d/.test(l))!;
    expect(job.split(/\s+/).slice(0, 6)).toEqual(['0', '2', '*', '*', '*', 'pibake-im']);
  });
  it('a job whose user is not in the image stops the build with one line, and writes nothing', async () => {
    const ctx = new FakeContext({ '/etc/passwd': PASSWD });
    const jobs = [
      { name: 'ok', schedule: '@daily', user: 'root', command: 'true' },
      { name: 'backup', schedule: '0 2 * * *', user: 'pibake-imm', command: 'true' },
    ];
    const err = await cron.apply(ctx, { jobs }).then(() => undefined, (e: unknown) => e);
    expect(formatError(new StageError('cron', err))).toBe(
      "pibake: stage cron: job backup runs as pibake-imm: no such user in the image\n  hint: create the user first (stages.users, or the package or stage that owns it), or set the job's user to one that exists",
    );
    expect(ctx.files.size).toBe(1);
  });
  it('runs after every stage that creates accounts', () => {
    const order = stages.map((st) => st.name);
    for (const maker of ['packages', 'im-server', 'users']) expect(order.indexOf(maker)).toBeLessThan(order.indexOf('cron'));
  });
});

describe('journald, zram, im-server', () => {
  it('journald goes volatile with a cap', async () => {
    const ctx = new FakeContext();
    await journald.apply(ctx, def.stages.journald!);
    expect(ctx.files.get('/etc/systemd/journald.conf.d/90-pibake.conf')!.content).toMatch(/^Storage=volatile$[\s\S]*^RuntimeMaxUse=32M$/m);
  });
  it('zram uses zram-tools on a Debian base and rpi-swap on Pi OS', async () => {
    const debian = new FakeContext();
    await zram.apply(debian, def.stages.zram!);
    expect(debian.installed).toEqual(['zram-tools']);
    expect(debian.files.get('/etc/default/zramswap')!.content).toMatch(/^ALGO=zstd$[\s\S]*^PERCENT=50$/m);
    expect(debian.units.enabled.has('zramswap.service')).toBe(true);
    const pios = new FakeContext({ '/etc/rpi/swap.conf': '[Main]\nMechanism=auto\n' }, ['dphys-swapfile.service']);
    await zram.apply(pios, def.stages.zram!);
    expect(pios.installed).toEqual([]);
    expect(pios.files.get('/etc/rpi/swap.conf.d/90-pibake.conf')!.content).toMatch(/^Mechanism=zram$/m);
    expect(pios.files.get('/etc/systemd/zram-generator.conf.d/90-pibake.conf')!.content).toMatch(/^zram-size = ram \* 0.5$[\s\S]*^compression-algorithm = zstd$/m);
  });
  it('im-server takes only a literal IP address to listen on', () => {
    for (const ok of ['0.0.0.0', '::', '192.168.1.20']) expect(imServer.schema.safeParse({ host: ok }).success).toBe(true);
    for (const bad of ['999.1.1.1', 'raspberrypi', '']) expect(imServer.schema.safeParse({ host: bad }).success).toBe(false);
  });

  it('im-server writes config with the seed knobs, a hardened unit, and enables it', async () => {
    const ctx = new FakeContext();
    await imServer.apply(ctx, { ...def.stages['im-server']!, admin: { name: 'admin', password_hash: 'scrypt$16384$8$1$c2FsdA==$aGFzaA==' } });
    const cfg = ctx.files.get('/etc/pibake-im/config.yaml')!;
    expect(cfg.attrs).toEqual({ mode: 0o640, owner: 'root', group: 'pibake-im' });
    expect(cfg.content).toMatch(/^logging:\n  level: info$/m);
    expect(cfg.content).toMatch(/^threading:\n  max_threads: 50$/m);
    const unit = ctx.files.get('/etc/systemd/system/pibake-im.service')!.content;
    for (const d of ['User=pibake-im', 'StateDirectory=pibake-im', 'ProtectSystem=strict', 'PrivateTmp=yes', 'NoNewPrivileges=yes', 'MemoryHigh=256M', 'MemoryMax=1G', 'Restart=on-failure'])
      expect(unit).toMatch(new RegExp(`^${d}$`, 'm'));
    expect(ctx.units.enabled.has('pibake-im.service')).toBe(true);
    expect(ctx.copies).toEqual([{ from: '/fake/im-bundle', to: '/opt/pibake-im' }]);
    expect(ctx.runs.some((r) => r[0] === 'systemd-analyze' && r[1] === 'verify')).toBe(true);
  });
});

describe('cron schedules are checked like cron checks them', () => {
  it.each([
    ['0 2 * * *', undefined],
    ['*/15 0-6,22-23 * * 1-5', undefined],
    ['@daily', undefined],
    ['0 2 * *', 'five cron fields, e.g. "0 2 * * *", or @daily (found 4)'],
    ['60 2 * * *', 'minute "60" is outside 0-59'],
    ['0 25 * * *', 'hour "25" is outside 0-23'],
    ['*/0 * * * *', 'minute "*/0" has a step of 0'],
    ['0 2 32 13 8', 'day of month "32" is outside 1-31'],
  ])('%s', async (s, problem) => {
    const { scheduleProblem } = await import('../../stages/cron.ts');
    expect(scheduleProblem(s)).toBe(problem);
  });
});

describe('im-server first admin from the boot partition', () => {
  it('the rendered script moves name:hash from the FAT into the config (mode kept) and deletes the file', async () => {
    const ctx = new FakeContext();
    await imServer.apply(ctx, def.stages['im-server']!);
    expect(ctx.units.enabled.has('pibake-im-admin-bootfs.service')).toBe(true);
    const script = ctx.files.get('/usr/lib/pibake/im-admin-from-bootfs')!;
    expect(script.attrs.mode).toBe(0o755);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pibake-admin-'));
    mkdirSync(path.join(dir, 'boot'));
    writeFileSync(path.join(dir, 'config.yaml'), 'logging:\n  level: info\n', { mode: 0o640 });
    writeFileSync(path.join(dir, 'boot', 'pibake-im-admin.txt'), 'admin:scrypt$16384$8$1$c2FsdA==$aGFzaA==\r\n');
    // the server's --check-config stands in as a script that accepts (first run) or refuses (second run) the config
    const check = path.join(dir, 'check.sh');
    writeFileSync(check, '#!/bin/sh\n[ ! -e "$(dirname "$0")/refuse" ] || { echo "pibake-im: $2:3: bootstrap_admin.password_hash: has the wrong format" >&2; exit 2; }\n', { mode: 0o755 });
    const local = script.content.replaceAll('/etc/pibake-im/config.yaml', path.join(dir, 'config.yaml')).replaceAll('/boot/firmware/', path.join(dir, 'boot') + '/').replaceAll('/opt/pibake-im/bin/pibake-im', check);
    expect(local).toContain(`${check} --config "$tmp" --check-config`);
    writeFileSync(path.join(dir, 's.sh'), local);
    execFileSync('sh', [path.join(dir, 's.sh')]);
    const accepted = 'logging:\n  level: info\nbootstrap_admin:\n  name: "admin"\n  password_hash: "scrypt$16384$8$1$c2FsdA==$aGFzaA=="\n';
    expect(readFileSync(path.join(dir, 'config.yaml'), 'utf8')).toBe(accepted);
    expect(existsSync(path.join(dir, 'boot', 'pibake-im-admin.txt'))).toBe(false);
    // a line the server refuses: the config stays as it was, the file goes, the reason is left on the boot partition
    writeFileSync(path.join(dir, 'refuse'), '');
    writeFileSync(path.join(dir, 'boot', 'pibake-im-admin.txt'), 'admin:scrypt$16384$8$1$c2FsdA==$aGF\n');
    const r = spawnSync('sh', [path.join(dir, 's.sh')], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('ignored: pibake-im: ');
    expect(readFileSync(path.join(dir, 'config.yaml'), 'utf8')).toBe(accepted);
    expect(readdirSync(dir).filter((f) => f.startsWith('config.yaml.'))).toEqual([]);
    expect(readdirSync(path.join(dir, 'boot'))).toEqual(['pibake-im-admin-rejected.txt']);
    expect(readFileSync(path.join(dir, 'boot', 'pibake-im-admin-rejected.txt'), 'utf8')).toMatch(/^pibake-im-admin.txt was not used: pibake-im: .*:3: bootstrap_admin.password_hash: has the wrong format\r\nMake the line again with pibake-im-admin hash-password \(name:scrypt\$\.\.\.\)/);
    rmSync(dir, { recursive: true, force: true });
  });
  it('the unit waits for network-online only when it binds a specific address', async () => {
    for (const [host, wants] of [['0.0.0.0', false], ['::', false], ['127.0.0.1', false], ['192.168.1.20', true]] as const) {
      const ctx = new FakeContext();
      await imServer.apply(ctx, { ...def.stages['im-server']!, host });
      const unit = ctx.files.get('/etc/systemd/system/pibake-im.service')!.content;
      expect([host, unit.includes('Wants=network-online.target'), unit.includes('After=network-online.target')]).toEqual([host, wants, wants]);
      expect(unit).toMatch(wants ? /^After=network-online\.target$/m : /^After=network\.target$/m);
    }
  });
});

describe('users', () => {
  const GROUP = 'root:x:0:\nsudo:x:27:\nadm:x:4:\n';
  const account = (name: string) => ({ name, groups: ['sudo'], ssh_authorized_keys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICACJBnuTYYfxYPlSFtqifKPuNXAq2rYyKHc7nXx9dun me'] });
  it('refuses to turn a system or service account into a login user, before changing anything', async () => {
    const ctx = new FakeContext({ '/etc/passwd': PASSWD + 'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\npi:x:1000:1000::/home/pi:/bin/bash\n', '/etc/group': GROUP });
    const err = await users.apply(ctx, { accounts: [account('pi'), account('daemon'), account('pibake-im')], ssh: { enable: false, password_authentication: false } }).then(() => undefined, (e: unknown) => e);
    expect(formatError(new StageError('users', err))).toBe(
      'pibake: stage users: daemon (uid 1, home /usr/sbin), pibake-im (uid 999, home /var/lib/pibake-im): a system or service account of the image, not a login user\n  hint: choose another name for the login account in stages.users.accounts',
    );
    expect(ctx.runs).toEqual([]);
    expect([...ctx.files.keys()]).toEqual(['/etc/passwd', '/etc/group']);
  });
  it('a group the image lacks stops the stage with one line before any change', async () => {
    const ctx = new FakeContext({ '/etc/passwd': PASSWD, '/etc/group': GROUP });
    const err = await users.apply(ctx, { accounts: [{ ...account('alice'), groups: ['sudo', 'gpio', 'wheel'] }], ssh: { enable: false, password_authentication: false } }).then(() => undefined, (e: unknown) => e);
    expect(formatError(new StageError('users', err)).split('\n')[0]).toBe('pibake: stage users: group gpio, wheel: not in the image');
    expect(ctx.runs).toEqual([]);
  });
  it('notes an account that has neither a password hash nor an ssh key (nobody could log in)', async () => {
    const ctx = new FakeContext({ '/etc/passwd': PASSWD, '/etc/group': GROUP });
    await users.apply(ctx, { accounts: [{ name: 'nokey', groups: ['sudo'], ssh_authorized_keys: [] }, account('alice')], ssh: { enable: true, password_authentication: false } });
    expect(ctx.notes).toEqual(['nokey has neither a password hash nor an ssh key: nobody can log in as nokey']);
  });
  it('takes only whole crypt hashes (real ones from libcrypt pass; placeholders and cut ones are refused)', () => {
    const ok = (h: string) => users.schema.safeParse({ accounts: [{ name: 'a', password_hash: h }] }).success;
    for (const h of ['$y$j9T$F5Jx5fExrKuPp53xLKQ..1$6foLM1JhGupouWKMU70wxK61Kw9ZnecbACjJwRadqM2', '$gy$j9T$F5Jx5fExrKuPp53xLKQ..1$swDwqc9roxMj9t43.TdN6v6uEgFlLv6oDhMVx4g6bhA',
      '$7$CU..../....F5Jx5fExrKuPp53xLKQ..1$4xJiYx.5FcYyUHZF2EzK6bS81H6P0LA9devwAT2qR36', '$5$lvOSH7X6XmSAnbBg$HT343fwjfkRgqRWa9ayvdKtft6nQ4mC5D8RKUwboANC',
      '$6$rounds=5000$abc$K4v3HcZ8yAmpRfxML6S46NCcqy9r4/KdbQpFvqSWsBf4dgySOEOo1DHJTrmn2BsJK2aNmPN8Tfb826D2o9.z51']) expect([h, ok(h)]).toEqual([h, true]);
    for (const h of ['$y$…', '$6$salt$abc', '$y$j9T$F5Jx5fExrKuPp53xLKQ..1$6foLM1JhGupouWKMU70wxK61Kw9ZnecbACjJwRadqM', 'hunter2']) expect([h, ok(h)]).toEqual([h, false]);
  });
  it('takes over an existing login user of the base (uid >= 1000, home in /home)', async () => {
    const ctx = new FakeContext({ '/etc/passwd': PASSWD + 'pi:x:1000:1000::/home/pi:/bin/bash\n', '/etc/group': GROUP });
    await users.apply(ctx, { accounts: [account('pi')], ssh: { enable: false, password_authentication: false } });
    expect(ctx.runs.map((c) => c.join(" "))).toContain('usermod --append --groups sudo pi');
    expect(ctx.runs.some((c) => c[0] === "useradd")).toBe(false);
    expect(ctx.files.get('/home/pi/.ssh/authorized_keys')?.attrs).toMatchObject({ mode: 0o600, owner: 'pi' });
  });
});

describe('packages', () => {
  const STATUS = 'Package: nano\nStatus: install ok installed\nVersion: 8.4-1\n\nPackage: nano-tiny\nStatus: deinstall ok config-files\n\n';
  it('purges what the image has and notes what it lacks (like services.disable)', async () => {
    const ctx = new FakeContext({ '/var/lib/dpkg/status': STATUS });
    await packages.apply(ctx, { install: ['htop'], purge: ['nano', 'nano-tiny', 'cups'] });
    expect(ctx.purged).toEqual(['nano']);
    expect(ctx.installed).toEqual(['htop']);
    expect(ctx.notes).toEqual(['nano-tiny is not installed in the image; nothing to purge', 'cups is not installed in the image; nothing to purge']);
  });
});

describe('contradictory lists', () => {
  const problems = (stages: string) => {
    try {
      parseDefinition(`name: a\nbase:\n  bootstrap: {}\nstages:\n${stages}`, 'x.yaml');
      return [];
    } catch (e) {
      return (e as ConfigError).problems;
    }
  };
  it('a unit in two of enable/disable/mask, or a package both installed and purged, is one line each at validate', () => {
    expect(problems('  services:\n    disable: [ssh.service]\n    mask: [ssh.service]\n    enable: [ssh.service]\n')).toEqual([
      'x.yaml:6:15 stages.services.disable[0]: "ssh.service" is also in enable; a unit is enabled, disabled or masked, only one of them',
      'x.yaml:7:12 stages.services.mask[0]: "ssh.service" is also in enable; a unit is enabled, disabled or masked, only one of them',
    ]);
    expect(problems('  packages:\n    install: [htop]\n    purge: [htop=3.4.1-5]\n')).toEqual([
      'x.yaml:7:13 stages.packages.purge[0]: "htop=3.4.1-5" is also in install; a package is installed or purged, not both',
    ]);
    expect(problems('  packages:\n    install: [htop]\n    purge: [nano]\n')).toEqual([]);
  });
});
