// Known verify failures: one clear line plus a hint, printed without a stack trace.
export class VerifyError extends Error {
  readonly code: string;
  readonly hint: string;
  constructor(code: string, message: string, hint: string) {
    super(message);
    this.name = 'VerifyError';
    this.code = code;
    this.hint = hint;
  }
}

/** One line for the user: the message and the hint. */
export function describeError(err: unknown): string {
  if (err instanceof VerifyError) return `pibake verify: ${err.message}\n  hint: ${err.hint}`;
  return `pibake verify: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
}
