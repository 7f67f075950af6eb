// The host-side exec wrapper: every host command goes through here (execa), logged with its duration.
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
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
  /** Keep stdout's final newline (readers of exact file contents, e.g. `debugfs cat`). */
  keepFinalNewline?: boolean;
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
    stripFinalNewline: !opts.keepFinalNewline,
  });
  opts.debug?.(`host: ${cmd} (${Date.now() - started} ms, exit ${r.exitCode})`);
  if (r.exitCode !== 0 || r.failed) {
    throw new ToolError(cmd, r.exitCode, String(r.stderr ?? '') || (r.message ?? ''), opts.hint);
  }
  return { stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

/**
 * A host command whose stdout is streamed elsewhere (tar into a container, into docker import). Plain spawn: execa's
 * stream wrapper was measured to drop bytes of a 120 MB tar stream here. `done` rejects with a ToolError.
 */
export function hostStream(argv: string[]): { stdout: Readable; done: Promise<void> } {
  const p = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  p.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<void>((resolve, reject) => {
    p.on('error', (e) => reject(new ToolError(argv.join(' '), undefined, e.message)));
    p.on('close', (code) => (code === 0 ? resolve() : reject(new ToolError(argv.join(' '), code ?? undefined, stderr))));
  });
  return { stdout: p.stdout, done };
}
