// Stage zram: compressed swap in RAM and no file swap (zram-tools on a Debian base, rpi-swap's config on Pi OS trixie).
import { z } from 'zod';
import { defineStage } from '../builder/stage.ts';

export default defineStage({
  name: 'zram',
  description: 'zram swap instead of SD-card swap',
  schema: z.strictObject({
    percent: z.number().int().min(5).max(200).default(50).describe('zram device size as a percentage of RAM'),
    algorithm: z.enum(['zstd', 'lz4', 'lzo-rle', 'lzo']).default('zstd').describe('Compression algorithm'),
    priority: z.number().int().min(-1).max(32767).default(100).describe('Swap priority of the zram device'),
  }),
  async apply(ctx, cfg) {
    if (await ctx.exists('/usr/lib/systemd/system/rpi-zram-writeback.timer') || (await ctx.exists('/etc/rpi/swap.conf'))) {
      ctx.note('Pi OS rpi-swap found: configuring it for zram only');
      await ctx.writeFile('/etc/rpi/swap.conf.d/90-pibake.conf', ctx.render('zram/rpi-swap.conf.njk', cfg));
      // rpi-swap sizes and tunes the device through zram-generator: size, algorithm and priority go there.
      await ctx.writeFile('/etc/systemd/zram-generator.conf.d/90-pibake.conf', ctx.render('zram/zram-generator.conf.njk', cfg));
    } else {
      await ctx.apt.install(['zram-tools']);
      await ctx.writeFile('/etc/default/zramswap', ctx.render('zram/zramswap.njk', cfg));
      await ctx.units.enable(['zramswap.service']);
    }
    // Never two swap systems, and no swap file on the card.
    for (const u of ['dphys-swapfile.service']) if (await ctx.units.exists(u)) await ctx.units.disable([u]);
    if (await ctx.exists('/var/swap')) await ctx.run(['rm', '-f', '/var/swap']);
  },
  plan: (cfg) => [
    `zram swap: ${cfg.percent}% of RAM, ${cfg.algorithm}, priority ${cfg.priority} (zram-tools on a Debian base; rpi-swap config on Pi OS)`,
    'disable dphys-swapfile and remove /var/swap if present',
  ],
  verify: () => [
    {
      id: 'zram.active',
      title: 'zram swap active, no file swap',
      guest: `s=$(swapon --show=NAME,TYPE --noheadings --raw); echo "$s"; echo "$s" | grep -q '^/dev/zram' && ! echo "$s" | grep -q ' file$'`,
    },
  ],
});
