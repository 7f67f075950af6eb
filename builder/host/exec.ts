// The host-side exec wrapper: every host command goes through here (execa), logged with its duration.
import { execa } from 'execa';
import { ToolError } from '../errors.ts';

export interface HostExecOptions {
  input?: string | Buffer;
  cwd?: string;
  env?: Record<string, string>;
  debug?: (msg: string) => void;
  hint?: string;
  /** Inherit stdio (for long tools whose progress the user should see). */
  inherit?: boolean;
}

export async function hostExec(argv: string[], opts: HostExecOptions = {}): Promise<{ stdout: string; stderr: string }> {
  const started = Date.now();
  const cmd = argv.join(' ');
  const r = await execa(argv[0]!, argv.slice(1), {
    input: opts.input,
    cwd: opts.cwd,
    env: opts.env,
    reject: false,
    stdio: opts.inherit ? 'inherit' : undefined,
    encoding: 'utf8',
  });
  opts.debug?.(`host: ${cmd} (${Date.now() - started} ms, exit ${r.exitCode})`);
  if (r.exitCode !== 0 || r.failed) {
    throw new ToolError(cmd, r.exitCode, String(r.stderr ?? '') || (r.message ?? ''), opts.hint);
  }
  return { stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}
