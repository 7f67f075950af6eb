// Stage services: disables (or masks) the units a headless chat server does not need, e.g. bluetooth and cups.
import { z } from 'zod';
import { defineStage } from '../builder/stage.ts';
import { PibakeError } from '../builder/errors.ts';
import { unitFileName } from '../builder/image/unit-file.ts';
import { disjointLists } from './disjoint-lists.ts';

const unit = z.string().regex(/^[A-Za-z0-9@:._\\-]+\.(service|socket|timer|path|target|mount)$/, 'a unit name with its suffix, e.g. bluetooth.service');

export default defineStage({
  name: 'services',
  description: 'Disable and mask systemd units (systemctl --root, never started on the build host)',
  schema: z.strictObject({
    disable: z.array(unit).default([]).describe('Units disabled (not started at boot); an absent unit is reported and skipped'),
    mask: z.array(unit).default([]).describe('Units masked (cannot be started at all, not even as a dependency)'),
    enable: z.array(unit).default([]).describe('Units enabled'),
  }).superRefine(disjointLists(['enable', 'disable', 'mask'], 'a unit is enabled, disabled or masked, only one of them')),
  async apply(ctx, cfg) {
    // Enabling is a promise the image must keep: a missing unit stops the build before any change (a typo would
    // otherwise ship silently). Disable and mask stay lenient: Pi OS variants differ in which units they carry.
    const missing = [];
    for (const u of cfg.enable) if (!(await ctx.units.exists(u))) missing.push(u);
    if (missing.length)
      throw new PibakeError('stage', 'E_UNIT', `enable ${missing.join(', ')}: no such unit in the image`, 'install the package that ships it in stages.packages, or remove it from services.enable');
    for (const [verb, list] of [['disable', cfg.disable], ['mask', cfg.mask]] as const) {
      const present: string[] = [];
      for (const u of list) {
        if (await ctx.units.exists(u)) present.push(u);
        else ctx.note(`${u} is not in the image; nothing to ${verb}`);
      }
      if (present.length) await ctx.units[verb](present);
    }
    if (cfg.enable.length) await ctx.units.enable(cfg.enable);
  },
  plan: (cfg, base) => {
    const state = (u: string, absent: string) => {
      if (!base) return ' (presence known after base)';
      const present = ['/usr/lib/systemd/system/', '/lib/systemd/system/', '/etc/systemd/system/'].some((d) => base.exists(d + unitFileName(u)));
      return present ? '' : ` — not in the base, ${absent}`;
    };
    return [
      ...cfg.disable.map((u) => `disable ${u}${state(u, 'will be skipped')}`),
      ...cfg.mask.map((u) => `mask ${u}${state(u, 'will be skipped')}`),
      ...cfg.enable.map((u) => `enable ${u}${state(u, 'the build fails unless an earlier stage installs it')}`),
    ];
  },
  verify: (cfg) =>
    [...cfg.disable, ...cfg.mask].map((u) => ({
      id: `services.off.${u}`,
      title: `${u} is not enabled and not running`,
      guest: `s=$(systemctl is-enabled ${u} 2>/dev/null || true); a=$(systemctl is-active ${u} 2>/dev/null || true); echo "enabled=$s active=$a"; case "$s" in enabled|enabled-runtime|alias|static) exit 1;; esac; [ "$a" != active ] && [ "$a" != activating ]`,
    })),
});
