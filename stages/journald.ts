// Stage journald: keeps the journal off the SD card (volatile, in RAM) or caps it, as a journald.conf.d drop-in.
import { z } from 'zod';
import { defineStage } from '../builder/stage.ts';

const size = z.string().regex(/^\d+[KMG]$/, 'a size such as 32M');

export default defineStage({
  name: 'journald',
  description: 'Journal storage: volatile (RAM) or persistent with a cap',
  schema: z.strictObject({
    storage: z.enum(['volatile', 'persistent', 'auto']).default('volatile').describe('volatile keeps logs in /run (RAM), sparing the SD card'),
    runtime_max_use: size.default('32M').describe('Cap of the in-RAM journal'),
    system_max_use: size.default('64M').describe('Cap of the on-disk journal (when persistent)'),
  }),
  async apply(ctx, cfg) {
    await ctx.writeFile('/etc/systemd/journald.conf.d/90-pibake.conf', ctx.render('journald/journald.conf.njk', cfg));
    if (cfg.storage === 'volatile' && (await ctx.exists('/var/log/journal'))) await ctx.run(['rm', '-rf', '/var/log/journal']);
  },
  plan: (cfg) => [`/etc/systemd/journald.conf.d/90-pibake.conf: Storage=${cfg.storage}, RuntimeMaxUse=${cfg.runtime_max_use}, SystemMaxUse=${cfg.system_max_use}`],
  verify: (cfg) => [
    {
      id: 'journald.storage',
      title: `journald Storage=${cfg.storage} in effect`,
      // which journal journald actually writes: the active system.journal under /run (RAM) or /var (the card)
      guest: `run=$(ls /run/log/journal/*/system.journal 2>/dev/null | head -n1); var=$(ls /var/log/journal/*/system.journal 2>/dev/null | head -n1)
echo "active journal: \${var:-\${run:-none}}"
${cfg.storage === 'volatile' ? '[ -n "$run" ] && [ -z "$var" ]' : cfg.storage === 'persistent' ? '[ -n "$var" ]' : '[ -n "$var$run" ]'}`,
    },
  ],
});
