// One error taxonomy for pibake: config, stage, tool and internal errors, each with a code, a hint and an exit code.

export type ErrorKind = 'config' | 'stage' | 'tool' | 'interrupted';

/** A known failure: printed as one line plus its hint, never with a stack trace. */
export class PibakeError extends Error {
  readonly kind: ErrorKind;
  readonly code: string;
  readonly hint?: string;
  constructor(kind: ErrorKind, code: string, message: string, hint?: string) {
    super(message);
    this.kind = kind;
    this.code = code;
    this.hint = hint;
  }
  /** 2 for bad input, 1 for a failed build (also on interrupt: 130 by shell convention). */
  get exitCode(): number {
    if (this.kind === 'config') return 2;
    if (this.kind === 'interrupted') return 130;
    return 1;
  }
}

export class ConfigError extends PibakeError {
  readonly problems: string[];
  constructor(problems: string[], hint?: string) {
    super('config', 'E_CONFIG', problems.join('\n'), hint);
    this.problems = problems;
  }
}

/** A command that failed: carries the command, its exit code and the end of its stderr. */
export class ToolError extends PibakeError {
  readonly command: string;
  readonly exitStatus: number | undefined;
  readonly stderrTail: string;
  constructor(command: string, exitStatus: number | undefined, stderr: string, hint?: string) {
    const lines = stderr.trim().split('\n').map((l) => l.trim()).filter(Boolean);
    const tail = lines.slice(-6).join('\n');
    // One line: the last thing the tool said (apt, e2fsck and friends put the reason last).
    const said = lines.filter((l) => !/^(W: |N: |Reading |Building |Hit:|Get:)/.test(l));
    const last = [...said].reverse().find((l) => /\berror\b|^E: /i.test(l) && !/FAILED \(exit/.test(l)) ?? said.pop() ?? lines.pop() ?? '';
    super('tool', 'E_TOOL', `\`${command}\` failed (exit ${exitStatus ?? '?'})${last ? `: ${last}` : ''}`, hint);
    this.command = command;
    this.exitStatus = exitStatus;
    this.stderrTail = tail;
  }
}

export class StageError extends PibakeError {
  constructor(stage: string, cause: unknown) {
    const inner = cause instanceof Error ? cause.message : String(cause);
    const hint = cause instanceof PibakeError ? cause.hint : undefined;
    super('stage', 'E_STAGE', `stage ${stage}: ${inner}`, hint);
  }
}

export class InterruptedError extends PibakeError {
  constructor(signal: string) {
    super('interrupted', 'E_INTERRUPTED', `interrupted by ${signal}; everything acquired was released`);
  }
}

/** Formats any error for the terminal: known errors as one line (+ hint), unknown ones with the stack. */
export function formatError(err: unknown): string {
  if (err instanceof PibakeError) {
    const head = err.kind === 'config' ? err.message : `pibake: ${err.message}`;
    return err.hint ? `${head}\n  hint: ${err.hint}` : head;
  }
  const stack = err instanceof Error ? err.stack ?? err.message : String(err);
  return `pibake: internal error (please report it with this output):\n${stack}`;
}
