// Known verify failures: pibake errors (one line + hint, no stack), bad input exits 2, everything else 1.
import { PibakeError } from '../errors.ts';

export { formatError as describeError } from '../errors.ts';

export class VerifyError extends PibakeError {
  constructor(code: string, message: string, hint: string) {
    super(code === 'input' || code === 'check' ? 'config' : 'tool', `E_VERIFY_${code.toUpperCase()}`, message, hint);
    this.name = 'VerifyError';
  }
}
