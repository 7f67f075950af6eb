// Stage sysctl: writes kernel parameters as a sysctl.d drop-in (applied at boot by systemd-sysctl, never on the host).
import { existsSync } from 'node:fs';
import { release } from 'node:os';
import { z } from 'zod';
import { defineStage } from '../builder/stage.ts';

const key = z.string().regex(/^[a-z0-9_]+(\.[a-zA-Z0-9_-]+)+$/, 'a sysctl key such as net.core.rmem_max');

export const sysctlSchema = z.strictObject({
  file: z.string().regex(/^[0-9]{2}-[a-z0-9-]+\.conf$/, 'a drop-in name like 90-pibake.conf').default('90-pibake.conf').describe('Drop-in file name in /etc/sysctl.d'),
  values: z.record(key, z.union([z.number().int(), z.string().regex(/^[^\n\r=]*[^\s=][^\n\r=]*$/, 'a value on one line, e.g. "4096 87380 16777216"')])).default({}).describe('Kernel parameters: key → value (numbers, or space-separated numbers as a string)'),
});

export function normalizeValue(v: string | number): string {
  return String(v).trim().split(/\s+/).join(' ');
}

export default defineStage({
  name: 'sysctl',
  description: 'Kernel parameters in /etc/sysctl.d',
  schema: sysctlSchema,
  async apply(ctx, cfg) {
    const entries = Object.entries(cfg.values).map(([k, v]) => ({ key: k, value: normalizeValue(v) }));
    // a typo is only a note: the Pi's kernel may have keys the build host's lacks (verify reads each one back at boot)
    for (const { key: k } of entries)
      if (!existsSync(`/proc/sys/${k.replace(/\./g, '/')}`)) ctx.note(`${k}: not a key of the build host's kernel (${release()}); check its spelling`);
    await ctx.writeFile(`/etc/sysctl.d/${cfg.file}`, ctx.render('sysctl/sysctl.conf.njk', { entries }), { mode: 0o644 });
  },
  plan: (cfg) => [`write /etc/sysctl.d/${cfg.file}: ${Object.entries(cfg.values).map(([k, v]) => `${k}=${normalizeValue(v)}`).join(', ')}`],
  verify: (cfg) =>
    Object.entries(cfg.values).map(([k, v]) => ({
      id: `sysctl.${k}`,
      title: `${k} = ${normalizeValue(v)}`,
      guest: `v=$(tr -s ' \\t' '  ' < /proc/sys/${k.replace(/\./g, '/')}); echo "$v"; [ "$v" = "${normalizeValue(v)}" ]`,
    })),
});
