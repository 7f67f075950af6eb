// The container-side exec wrapper: docker exec with demuxed output, stdin streaming, logging and one error shape.
import { PassThrough, type Readable } from 'node:stream';
import type Docker from 'dockerode';
import { ToolError } from '../errors.ts';

export interface ContainerExecOptions {
  env?: Record<string, string>;
  /** Data or a stream written to the command's stdin. */
  input?: string | Buffer | Readable;
  debug?: (msg: string) => void;
  hint?: string;
  /** Receives stderr lines as they come (long-running tools). */
  onStderr?: (chunk: string) => void;
  /** Return instead of throwing on non-zero exit. */
  allowFail?: boolean;
  /** How the command is named in logs and errors (default: argv joined). */
  display?: string;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

const MAX_CAPTURE = 8 * 1024 * 1024;

export async function containerExec(container: Docker.Container, argv: string[], opts: ContainerExecOptions = {}): Promise<ExecResult> {
  const started = Date.now();
  const exec = await container.exec({
    Cmd: argv,
    AttachStdout: true,
    AttachStderr: true,
    AttachStdin: opts.input !== undefined,
    Env: opts.env ? Object.entries(opts.env).map(([k, v]) => `${k}=${v}`) : undefined,
  });
  const stream = await exec.start({ hijack: true, stdin: opts.input !== undefined });
  const out = new PassThrough();
  const err = new PassThrough();
  const outChunks: Buffer[] = [];
  const errChunks: Buffer[] = [];
  let outLen = 0;
  out.on('data', (c: Buffer) => {
    if (outLen < MAX_CAPTURE) outChunks.push(c);
    outLen += c.length;
  });
  err.on('data', (c: Buffer) => {
    errChunks.push(c);
    opts.onStderr?.(c.toString('utf8'));
  });
  container.modem.demuxStream(stream, out, err);
  const ended = new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', reject);
  });
  if (opts.input !== undefined) {
    if (typeof opts.input === 'string' || Buffer.isBuffer(opts.input)) {
      stream.end(opts.input);
    } else {
      opts.input.pipe(stream as any, { end: false });
      opts.input.on('end', () => (stream as any).end());
      opts.input.on('error', (e) => stream.destroy(e));
    }
  }
  await ended;
  const info = await exec.inspect();
  const exitCode = info.ExitCode ?? -1;
  const stdout = Buffer.concat(outChunks).toString('utf8');
  const stderr = Buffer.concat(errChunks).toString('utf8');
  const shown = opts.display ?? argv.join(' ');
  opts.debug?.(`container: ${shown} (${Date.now() - started} ms, exit ${exitCode})`);
  if (exitCode !== 0 && !opts.allowFail) throw new ToolError(shown, exitCode, stderr || stdout, opts.hint);
  return { stdout, stderr, exitCode };
}
