// The one reporter all progress and logs go through: timed plain lines (CI) or a live status line on a TTY.
export type Level = 'debug' | 'info' | 'warn';

export interface Reporter {
  step(title: string): { done(extra?: string): number; fail(): void };
  info(msg: string): void;
  warn(msg: string): void;
  debug(msg: string): void;
  progress(label: string, done: number, total: number | undefined): void;
}

function fmtBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  return `${(n / 1024).toFixed(0)} KiB`;
}

/** heartbeatMs: how often a running step says so in plain (CI) output, default a minute. */
export function createReporter(opts: { verbose?: boolean; quiet?: boolean; stream?: NodeJS.WriteStream; heartbeatMs?: number } = {}): Reporter {
  const out = opts.stream ?? process.stderr;
  const tty = Boolean(out.isTTY) && !process.env.CI;
  const t0 = Date.now();
  const stamp = () => `[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s]`;
  let lastProgress = 0;
  const line = (s: string) => {
    if (opts.quiet) return;
    if (tty) out.write('\r\x1b[K');
    out.write(`${stamp()} ${s}\n`);
  };
  return {
    step(title) {
      const s = Date.now();
      line(`▶ ${title}`);
      // a long step without output of its own (xz, the bootstrap) still shows it is alive: the elapsed time on
      // the live line of a TTY every second, a plain line every minute in CI logs
      const beat = opts.quiet
        ? undefined
        : setInterval(() => {
            const secs = Math.round((Date.now() - s) / 1000);
            if (tty) out.write(`\r\x1b[K${stamp()}   ${title}: ${secs} s`);
            else line(`  … ${title}: still running (${secs} s)`);
          }, tty ? 1000 : (opts.heartbeatMs ?? 60_000));
      beat?.unref();
      return {
        done(extra) {
          clearInterval(beat);
          const ms = Date.now() - s;
          line(`✓ ${title} (${(ms / 1000).toFixed(1)}s${extra ? `, ${extra}` : ''})`);
          return ms;
        },
        fail() {
          clearInterval(beat);
          line(`✗ ${title} (${((Date.now() - s) / 1000).toFixed(1)}s)`);
        },
      };
    },
    info: (m) => line(`  ${m}`),
    warn: (m) => line(`  ! ${m}`),
    debug: (m) => {
      if (opts.verbose) line(`  · ${m}`);
    },
    progress(label, done, total) {
      if (opts.quiet) return;
      const now = Date.now();
      const finished = total !== undefined && done >= total;
      if (!finished && now - lastProgress < (tty ? 200 : 5000)) return;
      lastProgress = now;
      const pct = total ? ` ${((done / total) * 100).toFixed(0)}%` : '';
      const msg = `${label}: ${fmtBytes(done)}${total ? ` / ${fmtBytes(total)}` : ''}${pct}`;
      if (tty && !finished) out.write(`\r\x1b[K${stamp()}   ${msg}`);
      else line(`  ${msg}`);
    },
  };
}
