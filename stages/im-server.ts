// Stage im-server: installs the pibake-im bundle under /opt, its user, config and hardened systemd unit, enabled.
import { z } from 'zod';
import { isIP } from 'node:net';
import { defineStage } from '../builder/stage.ts';
import { scryptParamsUsable } from '../im/src/scrypt-params.ts';

export const IM_USER = 'pibake-im';
export const IM_CONFIG = '/etc/pibake-im/config.yaml';
export const IM_UNIT = 'pibake-im.service';

export default defineStage({
  name: 'im-server',
  description: 'The pibake-im chat server, compiled, on its pinned Node 24 runtime, as a hardened systemd service',
  schema: z.strictObject({
    host: z
      .string()
      .refine((h) => isIP(h) !== 0, 'an IPv4 or IPv6 address, e.g. 0.0.0.0 (all IPv4), :: (all) or 127.0.0.1')
      .default('0.0.0.0')
      .describe('Listen address'),
    port: z.number().int().min(1024).max(65535).default(8080).describe('HTTP + WebSocket port (unprivileged: the unit has no capabilities)'),
    log_level: z.enum(['error', 'warn', 'info', 'debug']).default('info').describe('logging.level of the server'),
    max_threads: z.number().int().min(1).max(1024).default(50).describe('threading.max_threads of the server (see the server README for what it bounds)'),
    memory_max: z.string().regex(/^\d+[KMG]$/, 'a size such as 1G').default('1G').describe('MemoryMax= of the unit (hard cap, the kernel kills above it); must hold max_threads concurrent logins (16 MiB each)'),
    memory_high: z.string().regex(/^\d+[KMG]$/, 'a size such as 256M').default('256M').describe('MemoryHigh= of the unit (above it the kernel reclaims hard and throttles)'),
    backup_keep: z.number().int().min(1).max(365).default(7).describe('How many nightly backups are kept'),
    admin: z
      .strictObject({
        // the server's own rule for user names (im/src/store.ts): an option-like or hidden-file-like name fails its start
        name: z.string().regex(/^[a-z0-9_][a-z0-9_.-]{0,31}$/, 'a user name: 1–32 of a-z 0-9 _ . -, not starting with - or .'),
        password_hash: z
          .string()
          .regex(/^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=_-]+\$[A-Za-z0-9+/=_-]+$/, 'the output of `pibake-im-admin hash-password` (scrypt$N$r$p$salt$hash), never a clear password')
          .refine(scryptParamsUsable, 'scrypt parameters that cost no more than the server\'s own hashes: N a power of two ≥ 1024, 128·N·r ≤ 16 MiB, N·r·p ≤ 262144, a 16–64 byte key (make it with `pibake-im-admin hash-password`)'),
      })
      .optional()
      .describe('First admin account, created at first start; the password is given only as a hash'),
  })
  .superRefine((c, ctx) => {
    // Each concurrent login runs scrypt with 16 MiB on one of max_threads pool threads; the unit must hold them all.
    const mib = (s: string) => Number(s.slice(0, -1)) * ({ K: 1 / 1024, M: 1, G: 1024 } as const)[s.slice(-1) as 'K' | 'M' | 'G'];
    const need = c.max_threads * 16 + 128;
    if (mib(c.memory_high) > mib(c.memory_max))
      ctx.addIssue({ code: 'custom', path: ['memory_high'], message: `${c.memory_high} is above memory_max ${c.memory_max}: the soft limit must be below the hard one` });
    if (mib(c.memory_max) < need)
      ctx.addIssue({ code: 'custom', path: ['memory_max'], message: `${c.memory_max} cannot hold ${c.max_threads} concurrent logins (16 MiB each, ~${need}M in all); raise memory_max or lower max_threads` });
  }),
  async apply(ctx, cfg) {
    const bundle = await ctx.hostArtifact('im-bundle');
    await ctx.copyIn(bundle, '/opt/pibake-im', { owner: 'root' });
    await ctx.writeFile('/usr/lib/sysusers.d/pibake-im.conf', ctx.render('im-server/sysusers.conf.njk', { user: IM_USER }));
    await ctx.run(['systemd-sysusers', '/usr/lib/sysusers.d/pibake-im.conf']);
    await ctx.writeFile(IM_CONFIG, ctx.render('im-server/config.yaml.njk', { ...cfg, admin: cfg.admin ?? null }), { mode: 0o640, owner: 'root', group: IM_USER });
    await ctx.writeFile(`/etc/systemd/system/${IM_UNIT}`, ctx.render('im-server/pibake-im.service.njk', { ...cfg, user: IM_USER }));
    await ctx.writeFile('/usr/lib/pibake/im-admin-from-bootfs', ctx.render('im-server/admin-from-bootfs.sh.njk', { config: IM_CONFIG, server: '/opt/pibake-im/bin/pibake-im' }), { mode: 0o755 });
    await ctx.writeFile('/etc/systemd/system/pibake-im-admin-bootfs.service', ctx.render('im-server/pibake-im-admin-bootfs.service.njk', {}));
    await ctx.run(['systemd-analyze', 'verify', '--man=no', `/etc/systemd/system/${IM_UNIT}`, '/etc/systemd/system/pibake-im-admin-bootfs.service']);
    await ctx.units.enable([IM_UNIT, 'pibake-im-admin-bootfs.service']);
  },
  plan: (cfg) => [
    'install the pibake-im bundle (Node 24 arm64 runtime + server) in /opt/pibake-im',
    `create system user ${IM_USER} (sysusers.d)`,
    `write ${IM_CONFIG}: logging.level=${cfg.log_level}, threading.max_threads=${cfg.max_threads}, listen ${cfg.host}:${cfg.port}${cfg.admin ? `, first admin ${cfg.admin.name}` : ''}`,
    `write /etc/systemd/system/${IM_UNIT} (ProtectSystem=strict, NoNewPrivileges, MemoryMax=${cfg.memory_max}) and enable it`,
    'first admin also from /boot/firmware/pibake-im-admin.txt ("name:scrypt$…") at first boot, like userconf.txt',
  ],
  verify: (cfg) => [
    { id: 'im-server.active', title: `${IM_UNIT} is active`, guest: `systemctl is-active ${IM_UNIT}` },
    {
      id: 'im-server.healthz',
      title: '/healthz answers through the forwarded port',
      host: async ({ httpBase }) => {
        const r = await fetch(`${httpBase}/healthz`);
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        return `HTTP ${r.status} on port ${cfg.port}`;
      },
    },
  ],
});
