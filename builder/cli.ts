// The pibake command line (yargs): build, validate, plan, verify, doctor, schema. Exit codes: 0 ok, 1 failed, 2 bad input.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { loadDefinition } from './definition/load.ts';
import { definitionJsonSchema } from './definition/schema.ts';
import { formatError, PibakeError } from './errors.ts';
import { createReporter } from './reporter.ts';
import { build } from './build.ts';
import { plan } from './plan.ts';
import { doctorChecks, formatChecks } from './cli/doctor.ts';
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from './paths.ts';
import { usageProblem } from './cli/usage-problem.ts';

/** Installs/starts what build and verify need (root on Debian) or stops with the commands to run (exit 2). */
async function ensureHostTools(): Promise<void> {
  const r = spawnSync('sh', [path.join(projectRoot, 'scripts', 'ensure-host.sh'), '--all'], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new PibakeError('config', 'E_HOST', 'this machine lacks what the command needs (see above)', 'run the commands above, then `pibake doctor`');
}

// A reader that went away (`pibake build 2>&1 | head`): writes fail with EPIPE, which must not kill the process
// before its cleanups ran; the SIGPIPE that comes with it stops a build or verify like Ctrl-C (withCleanups).
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
  });
}
// A listener for good: when withCleanups drops its own, SIGPIPE would fall back to the default action (terminate),
// and the final error line would kill the process on the closed pipe.
process.on('SIGPIPE', () => {});

async function run(fn: () => Promise<number | void>): Promise<never> {
  try {
    const code = await fn();
    process.exit(code ?? 0);
  } catch (e) {
    process.stderr.write(formatError(e) + '\n');
    process.exit(e instanceof PibakeError ? e.exitCode : 1);
  }
}

const definitionArg = (y: any) => y.positional('definition', { type: 'string', describe: 'image definition (YAML), e.g. images/im-server.yaml', demandOption: true });

await yargs(hideBin(process.argv))
  .scriptName('pibake')
  .usage('$0 <command> [options]\n\nDeclarative Raspberry Pi OS image builder.')
  .option('verbose', { alias: 'v', type: 'boolean', describe: 'log every command and the bootstrap output' })
  .command(
    'build <definition>',
    'build the image a definition describes (needs root and a Docker engine)',
    (y) => definitionArg(y).option('out', { type: 'string', describe: 'output directory (default: output.dir of the definition)' }),
    (a) =>
      run(async () => {
        const loaded = loadDefinition(a.definition as string);
        await ensureHostTools();
        const reporter = createReporter({ verbose: a.verbose as boolean });
        const res = await build(loaded, { reporter, outDir: a.out as string | undefined });
        process.stdout.write(`${res.image}\n`);
      }),
  )
  .command(
    'validate <definition>',
    'check a definition; one line per problem (file:line:col), exit 2 when there is any',
    definitionArg,
    (a) =>
      run(async () => {
        const l = loadDefinition(a.definition as string);
        process.stdout.write(`${a.definition}: valid (${Object.keys(l.def.stages).length} stage${Object.keys(l.def.stages).length === 1 ? '' : 's'}, definition sha256 ${l.hash.slice(0, 12)})\n`);
      }),
  )
  .command('plan <definition>', 'list what each stage will change (no Docker, no root)', definitionArg, (a) =>
    run(async () => {
      process.stdout.write((await plan(loadDefinition(a.definition as string))) + '\n');
    }),
  )
  .command(
    'verify <image>',
    'boot an image under qemu-system-aarch64 and check that every stage is live',
    (y) =>
      y
        .positional('image', { type: 'string', describe: 'image.img or image.img.xz', demandOption: true })
        .option('definition', { type: 'string', describe: 'definition the image was built from (its stages declare the checks)' })
        .option('compare-base', { type: 'boolean', describe: 'also boot the unmodified base and compare boot times' })
        .option('base-image', { type: 'string', describe: 'the base for --compare-base (default: found through <name>.manifest.json next to the image and the base cache)' })
        .option('timeout', { type: 'string', default: '900', describe: 'seconds before a boot is given up (1–7200)' }) // read as given, so a bad value is quoted back
        .option('report', { type: 'string', describe: 'directory for verify-report.json and the console logs (default: next to the image)' }),
    (a) =>
      run(async () => {
        if (!existsSync(a.image as string)) throw new PibakeError('config', 'E_IMAGE', `${a.image}: no such image`, 'give the .img or .img.xz that pibake build wrote');
        if (!statSync(a.image as string).isFile()) throw new PibakeError('config', 'E_IMAGE', `${a.image}: not a file`, 'give the .img or .img.xz that pibake build wrote, not its directory');
        const timeout = Number(a.timeout);
        if (!Number.isInteger(timeout) || timeout < 1 || timeout > 7200) throw new PibakeError('config', 'E_TIMEOUT', `--timeout ${a.timeout}: not a whole number of seconds from 1 to 7200`, 'e.g. --timeout 900 (a boot under TCG takes 1–5 minutes)');
        await ensureHostTools();
        const { verifyCommand } = await import('./verify/command.ts');
        return verifyCommand({
          image: a.image as string,
          definition: a.definition as string | undefined,
          compareBase: Boolean(a['compare-base']),
          baseImage: a['base-image'] as string | undefined,
          timeoutSec: timeout,
          reportDir: a.report as string | undefined,
          verbose: Boolean(a.verbose),
        });
      }),
  )
  .command('doctor', 'check this machine: engine, binfmt, tools, disk space; prints the fixes', {}, () =>
    run(async () => {
      const checks = await doctorChecks();
      process.stdout.write(formatChecks(checks) + '\n');
      return checks.every((c) => c.ok) ? 0 : 1;
    }),
  )
  .command('schema', 'print the JSON Schema of image definitions (for editors)', {}, () =>
    run(async () => {
      process.stdout.write(JSON.stringify(definitionJsonSchema(), null, 2) + '\n');
    }),
  )
  .demandCommand(1, 'give a command: build, validate, plan, verify, doctor or schema')
  .strict()
  .fail((msg, err) => {
    if (err) throw err;
    const { text, hint } = usageProblem(msg, hideBin(process.argv));
    process.stderr.write(`pibake: ${text}\n  hint: ${hint}\n`);
    process.exit(2);
  })
  .help()
  .parseAsync();
