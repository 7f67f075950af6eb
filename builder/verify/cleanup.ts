// A last-in-first-out stack of cleanups that also runs on SIGINT/SIGTERM, so qemu and temp files never outlive verify.
type Cleanup = () => unknown | Promise<unknown>;

export class Cleanups {
  private readonly stack: { label: string; fn: Cleanup }[] = [];
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    void this.runAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };

  constructor() {
    process.on('SIGINT', this.onSignal); // 'on', not 'once': execa's exit hook re-raises a signal nobody else listens to
    process.on('SIGTERM', this.onSignal);
  }

  add(label: string, fn: Cleanup): void {
    this.stack.push({ label, fn });
  }

  private running?: Promise<void>;

  /** Runs every cleanup, newest first; a failing cleanup does not stop the others. Concurrent calls share one run. */
  runAll(): Promise<void> {
    this.running ??= this.drain();
    return this.running;
  }

  private async drain(): Promise<void> {
    while (this.stack.length > 0) {
      const { fn, label } = this.stack.pop()!;
      if (process.env.PIBAKE_DEBUG_CLEANUP) process.stderr.write(`cleanup: ${label}\n`);
      try {
        await fn();
      } catch {
        // best effort: keep cleaning up
      }
    }
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }
}
