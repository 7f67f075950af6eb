// A last-in-first-out stack of cleanups that also runs on SIGINT/SIGTERM, so qemu and temp files never outlive verify.
type Cleanup = () => unknown | Promise<unknown>;

export class Cleanups {
  private readonly stack: { label: string; fn: Cleanup }[] = [];
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    void this.runAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };

  constructor() {
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
  }

  add(label: string, fn: Cleanup): void {
    this.stack.push({ label, fn });
  }

  /** Runs every cleanup, newest first; a failing cleanup does not stop the others. */
  async runAll(): Promise<void> {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    while (this.stack.length > 0) {
      const { fn } = this.stack.pop()!;
      try {
        await fn();
      } catch {
        // best effort: keep cleaning up
      }
    }
  }
}
