// A last-in-first-out stack of cleanups, registered as resources are acquired, run on success, failure and signals.
export type Cleanup = () => Promise<void> | void;

export class CleanupStack {
  private items: { label: string; fn: Cleanup }[] = [];
  private log: (msg: string) => void;
  constructor(log: (msg: string) => void = () => {}) {
    this.log = log;
  }
  /** Registers a cleanup; returns a function that runs it early and removes it from the stack. */
  push(label: string, fn: Cleanup): () => Promise<void> {
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
    return failures;
  }
  get size(): number {
    return this.items.length;
  }
}
