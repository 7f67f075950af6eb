// A last-in-first-out stack of cleanups, registered as resources are acquired, run on success, failure and signals.
import { InterruptedError } from './errors.ts';

export type Cleanup = () => Promise<void> | void;

export class CleanupStack {
  private items: { label: string; fn: Cleanup }[] = [];
  private log: (msg: string) => void;
  private closed = false;
  constructor(log: (msg: string) => void = () => {}) {
    this.log = log;
  }
  /**
   * Registers a cleanup; returns a function that runs it early and removes it from the stack. After runAll has
   * finished (an interrupted run whose work goes on for a moment), a late cleanup runs at once instead.
   */
  push(label: string, fn: Cleanup): () => Promise<void> {
    if (this.closed) {
      this.log(`cleanup (late): ${label}`);
      void Promise.resolve().then(fn).catch(() => {});
      return async () => {};
    }
    const item = { label, fn };
    this.items.push(item);
    return async () => {
      const i = this.items.indexOf(item);
      if (i >= 0) {
        this.items.splice(i, 1);
        await fn();
      }
    };
  }
  /** Runs every cleanup, newest first; a failing cleanup is reported and the rest still run. */
  async runAll(): Promise<string[]> {
    const failures: string[] = [];
    while (this.items.length) {
      const { label, fn } = this.items.pop()!;
      try {
        this.log(`cleanup: ${label}`);
        await fn();
      } catch (e) {
        failures.push(`${label}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    this.closed = true;
    return failures;
  }
  get size(): number {
    return this.items.length;
  }
}

/** The signals that stop a run and release what it acquired. */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGPIPE'] as const;

export interface CleanupLog {
  warn(msg: string): void;
  debug(msg: string): void;
}

/**
 * Runs fn with a fresh CleanupStack and always runs the stack afterwards. STOP_SIGNALS abort fn's signal and end
 * the run at once as an InterruptedError (exit 130); the handlers stay until every cleanup ran, so a second Ctrl-C
 * cannot cut the cleanup short. `who` names the run in the warning ("the build", "verify").
 */
export async function withCleanups<T>(who: string, log: CleanupLog, fn: (cleanups: CleanupStack, signal: AbortSignal) => Promise<T>): Promise<T> {
  const cleanups = new CleanupStack(log.debug);
  const abort = new AbortController();
  let onSignal!: (sig: NodeJS.Signals) => void;
  const interrupted = new Promise<never>((_, reject) => {
    onSignal = (sig) => {
      if (abort.signal.aborted) return;
      log.warn(`${sig}: stopping, releasing what ${who} acquired`);
      abort.abort();
      reject(new InterruptedError(sig));
    };
  });
  // 'on', not 'once': execa's exit hook re-raises a signal nobody else listens to. SIGHUP: the terminal closed;
  // SIGPIPE: the reader of our output went away (`pibake build | head`) — both end the run like Ctrl-C.
  for (const sig of STOP_SIGNALS) process.on(sig, onSignal);
  try {
    return await Promise.race([fn(cleanups, abort.signal), interrupted]);
  } finally {
    const failures = await cleanups.runAll();
    for (const f of failures) log.warn(`cleanup failed: ${f}`);
    for (const sig of STOP_SIGNALS) process.off(sig, onSignal);
  }
}
