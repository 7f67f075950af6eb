// Stage cron: system cron jobs as files in /etc/cron.d (root-owned, 0644, dot-free names, final newline).
import { z } from 'zod';
import { defineStage } from '../builder/stage.ts';

const field = String.raw`(\*|\d+(-\d+)?)(\/\d+)?(,(\*|\d+(-\d+)?)(\/\d+)?)*`;
const schedule = z
  .string()
  .regex(new RegExp(`^(@(reboot|daily|weekly|monthly|yearly|hourly)|${field}(\\s+${field}){4})$`), 'five cron fields, e.g. "0 2 * * *", or @daily')
  .describe('When the job runs (cron syntax)');

const job = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, - and _ only (cron ignores files in /etc/cron.d with dots)').describe('File name in /etc/cron.d'),
  schedule,
  user: z.string().regex(/^[a-z_][a-z0-9_-]*$/).default('root').describe('User the command runs as'),
  command: z.string().min(1).refine((c) => !c.includes('\n') && !c.includes('%'), 'one line without % (cron turns % into newlines)').describe('Command line'),
  description: z.string().optional(),
});

export default defineStage({
  name: 'cron',
  description: 'Scheduled jobs (the seed: nightly backup at 02:00)',
  schema: z.strictObject({ jobs: z.array(job).default([]).describe('One file in /etc/cron.d per job') }),
  async apply(ctx, cfg) {
    for (const j of cfg.jobs) await ctx.writeFile(`/etc/cron.d/${j.name}`, ctx.render('cron/cron.d.njk', { job: j }), { mode: 0o644 });
  },
  plan: (cfg) => cfg.jobs.map((j) => `/etc/cron.d/${j.name}: "${j.schedule}" as ${j.user}: ${j.command}`),
  verify: (cfg) =>
    cfg.jobs.map((j) => ({
      id: `cron.${j.name}`,
      title: `cron job ${j.name} runs (as ${j.user})`,
      guest: `cd / && runuser -u ${j.user} -- sh -c '${j.command.replace(/'/g, `'\\''`)}' && echo "exit 0"`,
    })),
});
