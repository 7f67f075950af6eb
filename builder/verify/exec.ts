// The host-side exec wrapper for verify: runs a program with execa and turns a failure into a VerifyError.
import { execa, type Options } from 'execa';
import { VerifyError } from './errors.ts';

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs argv[0] with the rest as arguments; throws a VerifyError carrying the command and the end of stderr. */
export async function run(argv: string[], opts: Options & { hint?: string } = {}): Promise<RunResult> {
  const { hint, ...execaOpts } = opts;
  const [cmd, ...args] = argv;
  const res = await execa(cmd!, args, { reject: false, stripFinalNewline: false, ...execaOpts });
  const stdout = String(res.stdout ?? '');
  const stderr = String(res.stderr ?? '');
  if (res.failed) {
    const tail = stderr.trim().split('\n').slice(-3).join(' | ') || (res.code ?? '');
    const what = res.exitCode === undefined ? String(res.shortMessage ?? 'could not start') : `exit ${res.exitCode}`;
    throw new VerifyError('tool', `'${argv.join(' ')}' failed (${what}): ${tail}`, hint ?? `check that '${cmd}' is installed and its input is valid`);
  }
  return { stdout, stderr };
}
