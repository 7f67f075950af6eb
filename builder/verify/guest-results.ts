// Parses the guest runner's JSON lines (virtio port file, or PIBAKE-VERIFY lines in the console log).
import { CONSOLE_PREFIX } from './guest-payload.ts';

export type GuestEvent =
  | { event: 'multi-user'; uptime: number; initramfs: number | null }
  | { event: 'boot-finished'; uptime: number; state: string }
  | { event: 'analysis'; analyze: string }
  | { event: 'check'; id: string; exit: number; start: number; end: number; out: string }
  | { event: 'done'; uptime: number };

const unb64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');

/** Complete lines only; a torn last line (still being written) is ignored until its newline arrives. */
export function parseGuestResults(text: string, fromConsole = false): GuestEvent[] {
  const lines = text.split('\n');
  lines.pop();
  const events: GuestEvent[] = [];
  for (let line of lines) {
    line = line.replace(/\r$/, '');
    if (fromConsole) {
      const at = line.indexOf(CONSOLE_PREFIX);
      if (at < 0) continue;
      line = line.slice(at + CONSOLE_PREFIX.length);
    }
    if (!line.startsWith('{')) continue;
    try {
      const e = JSON.parse(line) as GuestEvent;
      if (e.event === 'check') e.out = unb64(e.out);
      if (e.event === 'analysis') e.analyze = unb64(e.analyze);
      events.push(e);
    } catch {
      // a line garbled by interleaved console output: skip it
    }
  }
  return events;
}

/** "Startup finished in 1.9s (kernel) + 35.2s (userspace) = 37.1s\nmulti-user.target reached after 35.0s in userspace" */
export function parseAnalyzeTime(text: string): { totalSec?: number; targetUserspaceSec?: number; target?: string } {
  const toSec = (s: string): number => {
    let total = 0;
    for (const [, n, u] of s.matchAll(/([\d.]+)(min|ms|s|h)/g)) total += Number(n) * ({ h: 3600, min: 60, s: 1, ms: 0.001 } as Record<string, number>)[u!]!;
    return Math.round(total * 1000) / 1000;
  };
  const total = /=\s*([\d.hmins ]+?)\s*$/m.exec(text)?.[1];
  const mu = /\.target reached after\s+([\d.hmins ]+?)\s+in userspace/.exec(text)?.[1];
  const target = /(\S+\.target) reached after/.exec(text)?.[1];
  return { totalSec: total ? toSec(total) : undefined, targetUserspaceSec: mu ? toSec(mu) : undefined, target };
}
