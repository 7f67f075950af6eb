// Stage cron: system cron jobs as files in /etc/cron.d (root-owned, 0644, dot-free names, final newline).
import { z } from 'zod';
import { defineStage } from '../builder/stage.ts';
import { PibakeError } from '../builder/errors.ts';
import { parseIdFile } from '../builder/image/ownership.ts';
import { uniqueNames } from './unique-names.ts';

const FIELD_RANGES: [number, number][] = [[0, 59], [0, 23], [1, 31], [1, 12], [0, 7]];
const FIELD_NAMES = ['minute', 'hour', 'day of month', 'month', 'day of week'];

/** Checks a cron schedule like cron does: five fields of *, numbers, ranges, lists and non-zero steps within range. */
export function scheduleProblem(s: string): string | undefined {
  if (/^@(reboot|yearly|annually|monthly|weekly|daily|midnight|hourly)$/.test(s)) return undefined;
  const fields = s.trim().split(/\s+/);
  if (fields.length !== 5) return `five cron fields, e.g. "0 2 * * *", or @daily (found ${fields.length})`;
  for (let i = 0; i < 5; i++) {
    const [lo, hi] = FIELD_RANGES[i]!;
    for (const part of fields[i]!.split(',')) {
      const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
      if (!m) return `${FIELD_NAMES[i]} "${part}" is not a number, range, list or step`;
      const nums = [m[2], m[3]].filter((x) => x !== undefined).map(Number);
      if (nums.some((n) => n < lo || n > hi)) return `${FIELD_NAMES[i]} "${part}" is outside ${lo}-${hi}`;
      if (m[4] !== undefined && Number(m[4]) === 0) return `${FIELD_NAMES[i]} "${part}" has a step of 0`;
    }
  }
  return undefined;
}

const schedule = z
  .string()
  .superRefine((s, ctx) => {
    const p = scheduleProblem(s);
    if (p) ctx.addIssue({ code: 'custom', message: p });
  })
  .describe('When the job runs (cron syntax)');

const job = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, - and _ only (cron ignores files in /etc/cron.d with dots)').describe('File name in /etc/cron.d'),
  schedule,
  user: z.string().regex(/^[a-z_][a-z0-9_-]*$/).default('root').describe('User the command runs as'),
  command: z.string().min(1).refine((c) => !/[\n\r%]/.test(c), 'one line without % (cron turns % into newlines)').describe('Command line'),
  description: z.string().regex(/^[^\n\r]*$/, 'one line').optional().describe('Shown in the comment on top of the file'),
});

export default defineStage({
  name: 'cron',
  description: 'Scheduled jobs in /etc/cron.d',
  schema: z.strictObject({ jobs: z.array(job).default([]).superRefine(uniqueNames).describe('One file in /etc/cron.d per job') }),
  async apply(ctx, cfg) {
    // cron would skip a job whose user is unknown and only say so in the journal: check against the image's own
    // accounts, as the stages before this one left them (packages, im-server and users all create accounts).
    const users = parseIdFile(await ctx.readFile('/etc/passwd'));
    const unknown = cfg.jobs.filter((j) => !users.has(j.user)).map((j) => `job ${j.name} runs as ${j.user}`);
    if (unknown.length)
      throw new PibakeError('stage', 'E_CRON_USER', `${unknown.join(', ')}: no such user in the image`, "create the user first (stages.users, or the package or stage that owns it), or set the job's user to one that exists");
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
