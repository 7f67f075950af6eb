// Stage fstab: adds mount options (noatime, nodiratime) to the root filesystem's line, idempotently.
import { z } from 'zod';
import { defineStage } from '../builder/stage.ts';
import { PibakeError } from '../builder/errors.ts';

const option = z.string().regex(/^[a-z0-9_=,.-]+$/, 'a mount option such as noatime');

/** Merges options into the fstab line mounted at `/`, keeping its source, other options and fields. */
export function mergeRootOptions(fstab: string, add: string[]): { text: string; before: string; after: string } {
  const lines = fstab.split('\n');
  const i = lines.findIndex((l) => !l.trim().startsWith('#') && l.trim().split(/\s+/)[1] === '/');
  if (i < 0) throw new PibakeError('stage', 'E_FSTAB', '/etc/fstab has no line for the root filesystem (/)', 'the base image must mount its root from fstab');
  const fields = lines[i]!.trim().split(/\s+/);
  while (fields.length < 6) fields.push(fields.length === 3 ? 'defaults' : '0');
  const opts = fields[3]!.split(',').filter(Boolean);
  for (const o of add) if (!opts.includes(o)) opts.push(o);
  const before = lines[i]!;
  fields[3] = opts.join(',');
  lines[i] = fields.join('  ');
  return { text: lines.join('\n'), before, after: lines[i]! };
}

export default defineStage({
  name: 'fstab',
  description: 'Root filesystem mount options in /etc/fstab (e.g. noatime to spare the SD card)',
  schema: z.strictObject({
    root_options: z.array(option).default(['noatime', 'nodiratime']).describe('Options added to the root line (kept if already there)'),
  }),
  async apply(ctx, cfg) {
    const { text, before, after } = mergeRootOptions(await ctx.readFile('/etc/fstab'), cfg.root_options);
    if (before !== after) ctx.note(`root line: ${after.trim()}`);
    await ctx.writeFile('/etc/fstab', text, { mode: 0o644 });
  },
  plan: (cfg, base) => {
    const fstab = base?.readFile('/etc/fstab');
    if (!fstab) return [`/etc/fstab: add ${cfg.root_options.join(',')} to the root (/) line, keeping its PARTUUID and other options (exact line after base)`];
    const { before, after } = mergeRootOptions(fstab, cfg.root_options);
    return before === after ? [`/etc/fstab: root line already has ${cfg.root_options.join(',')}; unchanged`] : [`/etc/fstab root line: ${before.trim().split(/\s+/).join(' ')}`, `                 → ${after.trim().split(/\s+/).join(' ')}`];
  },
  verify: (cfg) => [
    {
      id: 'fstab.root-options',
      title: `root mounted with ${cfg.root_options.join(',')}`,
      guest: `o=$(findmnt -no OPTIONS /); echo "$o"; for w in ${cfg.root_options.join(' ')}; do case ",$o," in *,$w,*) ;; *) [ "$w" = nodiratime ] && case ",$o," in *,noatime,*) continue;; esac; exit 1;; esac; done`,
    },
  ],
});
