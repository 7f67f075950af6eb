// Stage users: login accounts (password hash and/or ssh keys) and the ssh server's policy; Pi OS ships with neither.
import { z } from 'zod';
import { defineStage } from '../builder/stage.ts';
import { PibakeError } from '../builder/errors.ts';
import { uniqueNamesAs } from './unique-names.ts';
import { sshKeyProblem } from './ssh-key.ts';

// the whole hash, not only its prefix: a truncated or placeholder value would lock the account out for good
const C = '[./0-9A-Za-z]';
const CRYPT_HASH = new RegExp(`^(\\$(y|gy)\\$${C}+\\$${C}{1,86}\\$${C}{43}|\\$7\\$${C}{11,}\\$${C}{43}|\\$6\\$(rounds=\\d+\\$)?[^$:\\s]{1,16}\\$${C}{86}|\\$5\\$(rounds=\\d+\\$)?[^$:\\s]{1,16}\\$${C}{43})$`);
const user = z.strictObject({
  name: z
    .string()
    .regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'a Linux user name')
    .refine((n) => n !== 'root', 'root stays locked (Pi OS has no root login); create a user in group sudo')
    .describe('Login name'),
  password_hash: z
    .string()
    .regex(CRYPT_HASH, 'a whole crypt(3) hash ($y$, $gy$, $7$, $6$ or $5$, all its fields) such as the output of `mkpasswd -m yescrypt` (never a clear password)')
    .optional()
    .describe('Password as a crypt hash; without it the account has no password (ssh keys only)'),
  groups: z.array(z.string().regex(/^[a-z_][a-z0-9_-]*$/, 'a group name such as sudo, adm or video')).default(['sudo']).describe('Supplementary groups (existing ones)'),
  ssh_authorized_keys: z.array(z.string().superRefine((line, ctx) => {
    const problem = sshKeyProblem(line);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })).default([]).describe('Public keys allowed to log in: OpenSSH authorized_keys lines ([options] type base64-key [comment]), checked like sshd reads them'),
});

export default defineStage({
  name: 'users',
  description: 'Login users and ssh (key-only by default)',
  schema: z.strictObject({
    accounts: z.array(user).default([]).superRefine(uniqueNamesAs('one account per name')).describe('Users created in the image'),
    ssh: z
      .strictObject({
        enable: z.boolean().default(false).describe('Start sshd at boot (Pi OS default: off)'),
        password_authentication: z.boolean().default(false).describe('Allow password logins over ssh'),
      })
      .prefault({}),
  }),
  async apply(ctx, cfg) {
    // the image's accounts by name: name:x:uid:gid:gecos:home:shell
    const existing = new Map((await ctx.readFile('/etc/passwd')).split('\n').map((l) => l.split(':')).map((f) => [f[0]!, f]));
    // a login account may be one the base already has (a Pi OS user), never a system or service account
    const taken = cfg.accounts.flatMap((u) => {
      const f = existing.get(u.name);
      return f && (Number(f[2]) < 1000 || Number(f[2]) === 65534 || f[5] !== `/home/${u.name}`) ? [`${u.name} (uid ${f[2]}, home ${f[5]})`] : [];
    });
    if (taken.length)
      throw new PibakeError('stage', 'E_USER_TAKEN', `${taken.join(', ')}: a system or service account of the image, not a login user`, 'choose another name for the login account in stages.users.accounts');
    const groups = new Set((await ctx.readFile('/etc/group')).split('\n').map((l) => l.split(':')[0]));
    const missing = [...new Set(cfg.accounts.flatMap((u) => u.groups))].filter((g) => !groups.has(g));
    if (missing.length)
      throw new PibakeError('stage', 'E_USER_GROUP', `group ${missing.join(', ')}: not in the image`, 'use groups the base has (the bootstrapped Debian base: sudo, adm, users, video, audio, plugdev, netdev; Pi OS adds gpio, i2c, spi), or install the package that creates it first');
    for (const u of cfg.accounts) {
      if (!u.password_hash && !u.ssh_authorized_keys.length) ctx.note(`${u.name} has neither a password hash nor an ssh key: nobody can log in as ${u.name}`);
      if (!existing.has(u.name)) await ctx.run(['useradd', '--create-home', '--shell', '/bin/bash', u.name]);
      if (u.groups.length) await ctx.run(['usermod', '--append', '--groups', u.groups.join(','), u.name]);
      await ctx.run(['usermod', '--password', u.password_hash ?? '!', u.name]);
      if (u.ssh_authorized_keys.length)
        await ctx.writeFile(`/home/${u.name}/.ssh/authorized_keys`, u.ssh_authorized_keys.join('\n') + '\n', { mode: 0o600, owner: u.name });
      if (u.ssh_authorized_keys.length) await ctx.run(['sh', '-c', 'chown "$1:$1" "/home/$1/.ssh" && chmod 700 "/home/$1/.ssh"', 'sh', u.name]);
    }
    await ctx.writeFile('/etc/ssh/sshd_config.d/90-pibake.conf', ctx.render('users/sshd.conf.njk', cfg.ssh));
    // sshd -t needs a host key (the image has none: made at first boot) and its privilege separation dir
    // /run/sshd (a tmpfs at boot): check with a throwaway key, and remove the dir again if it was made here.
    await ctx.run(['sh', '-c', [
      'k=$(mktemp -d) || exit 1', 'made=',
      '[ -d /run/sshd ] || { mkdir -m 0755 /run/sshd && made=1; }',
      'ssh-keygen -q -t ed25519 -N "" -f "$k/key" && sshd -t -h "$k/key"; rc=$?',
      '[ -z "$made" ] || rmdir /run/sshd', 'rm -rf "$k"', 'exit $rc',
    ].join('\n')]);
    if (cfg.ssh.enable) await ctx.units.enable(['ssh.service']);
  },
  plan: (cfg) => [
    ...cfg.accounts.map((u) => `user ${u.name} (groups ${u.groups.join(',') || '-'}; ${u.password_hash ? 'password hash' : 'no password'}; ${u.ssh_authorized_keys.length} ssh keys${!u.password_hash && !u.ssh_authorized_keys.length ? " — nobody can log in as this user" : ""})`),
    `/etc/ssh/sshd_config.d/90-pibake.conf: PasswordAuthentication ${cfg.ssh.password_authentication ? 'yes' : 'no'}, PermitRootLogin no; sshd ${cfg.ssh.enable ? 'enabled' : 'left as the base has it'}`,
  ],
  verify: (cfg) => [
    ...cfg.accounts.map((u) => ({ id: `users.${u.name}`, title: `user ${u.name} exists`, guest: `id ${u.name}` })),
    ...(cfg.ssh.enable ? [{ id: 'users.sshd', title: 'sshd is active', guest: 'systemctl is-active ssh.service' }] : []),
  ],
});
