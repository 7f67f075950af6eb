// Audit log <log_dir>/access.log: lines are buffered briefly and appended by opening the file per flush
// (O_APPEND), so logrotate can move the file away at any time without copytruncate or a signal.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeDirs } from './make-dirs.ts';

export class AccessLog {
  private pending: string[] = [];
  private timer: NodeJS.Timeout | null = null;
  readonly path: string;
  private onError: (msg: string) => void;

  constructor(logDir: string, onError: (msg: string) => void) {
    this.path = join(logDir, 'access.log');
    this.onError = onError;
    try { makeDirs(logDir, 0o750); } catch { /* reported on first write */ }
  }

  record(event: string, fields: Record<string, unknown>): void {
    let line = `${new Date().toISOString()} ${event}`;
    for (const [k, v] of Object.entries(fields)) line += ` ${k}=${JSON.stringify(v)}`;
    this.pending.push(line + '\n');
    if (!this.timer) this.timer = setTimeout(() => this.flush(), 200);
  }

  /** Writes buffered lines now (also called on SIGHUP and at shutdown). */
  flush(): void {
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    if (this.pending.length === 0) return;
    const text = this.pending.join('');
    this.pending = [];
    try {
      appendFileSync(this.path, text, { mode: 0o640 });
    } catch (err: any) {
      this.onError(`cannot append to ${this.path}: ${err.code ?? err.message}`);
    }
  }
}
