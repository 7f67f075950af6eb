// Stage logrotate: rotation rules in /etc/logrotate.d, each checked by `logrotate -d` inside the image.
import { z } from 'zod';
import { defineStage } from '../builder/stage.ts';
import { uniqueNames } from './unique-names.ts';

const rule = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'a file name for /etc/logrotate.d (letters, digits, - and _)').describe('File name in /etc/logrotate.d'),
  paths: z.array(z.string().regex(/^\/[^\s{}"'#]+$/, 'an absolute path without spaces, braces, quotes or #')).min(1).describe('Log files (globs allowed)'),
  frequency: z.enum(['daily', 'weekly', 'monthly']).default('weekly'),
  rotate: z.number().int().min(0).max(365).default(4).describe('How many rotated files to keep'),
  compress: z.boolean().default(true),
  missingok: z.boolean().default(true),
  notifempty: z.boolean().default(true),
  su: z.string().regex(/^[a-z_][a-z0-9_-]* [a-z_][a-z0-9_-]*$/, '"user group"').optional().describe('Rotate as this user and group (needed when the log directory is not root-owned)'),
  create: z.string().regex(/^0[0-7]{3} [a-z_][a-z0-9_-]* [a-z_][a-z0-9_-]*$/, '"0640 user group"').optional().describe('Mode, owner and group of the new log file'),
  copytruncate: z.boolean().default(false),
  postrotate: z
    .string()
    .regex(/^[^\n\r]+$/, 'one line')
    .refine((s) => !/\bendscript\b/.test(s), 'must not contain "endscript"')
    .optional()
    .describe('Shell command run after rotation (e.g. to make the service reopen its log)'),
});

export default defineStage({
  name: 'logrotate',
  description: 'Log rotation rules in /etc/logrotate.d',
  schema: z.strictObject({ rules: z.array(rule).default([]).superRefine(uniqueNames).describe('One file in /etc/logrotate.d per rule') }),
  async apply(ctx, cfg) {
    for (const r of cfg.rules) {
      const file = `/etc/logrotate.d/${r.name}`;
      await ctx.writeFile(file, ctx.render('logrotate/rule.njk', { rule: r }), { mode: 0o644 });
      await ctx.run(['logrotate', '-d', file]);
    }
  },
  plan: (cfg) => cfg.rules.map((r) => `/etc/logrotate.d/${r.name}: ${r.paths.join(' ')} ${r.frequency}, rotate ${r.rotate}${r.compress ? ', compress' : ''}`),
  verify: (cfg) =>
    cfg.rules.map((r) => ({
      id: `logrotate.${r.name}`,
      title: `forced logrotate rotates ${r.paths[0]}`,
      guest: `f=${r.paths[0]}; [ -s "$f" ] || { echo "$f is empty or missing"; exit 1; }; logrotate -f /etc/logrotate.d/${r.name} && ls -l "$f"* && ls "$f".1* >/dev/null 2>&1`,
    })),
});
