// Failed-login brake per client address and user name: after 5 failures in a row, that name from that address waits
// 1 s, 2 s, 4 s … up to 5 min (per name too, so a reverse proxy's shared address does not lock out everyone).
const FREE_FAILURES = 5;
const MAX_BLOCK_MS = 300_000;
const FORGET_MS = 3_600_000; // a quiet hour forgets the failures
const MAX_ENTRIES = 10_000;
const SWEEP_EVERY_MS = 60_000;

interface Entry { failures: number; blockedUntil: number; inFlight: number; last: number }

export class LoginThrottle {
  private readonly byAddress = new Map<string, Entry>();
  private readonly now: () => number;
  private lastSweep = 0;
  constructor(now: () => number = Date.now) { this.now = now; }

  /** Seconds this name from this address must wait before it may try (0: go ahead, and call finish() afterwards). */
  begin(address: string, name: string): number {
    const key = `${address}\n${name}`;
    const t = this.now();
    this.prune(t);
    const e = this.byAddress.get(key) ?? { failures: 0, blockedUntil: 0, inFlight: 0, last: t };
    if (e.blockedUntil > t) return Math.ceil((e.blockedUntil - t) / 1000);
    // attempts in flight count as failures-to-be: parallel guesses cannot get past the free ones at once, and once
    // they are used up one attempt at a time is let through after each wait
    if (e.inFlight >= (e.failures < FREE_FAILURES ? FREE_FAILURES - e.failures : 1)) return 1;
    e.inFlight++;
    e.last = t;
    this.byAddress.set(key, e);
    return 0;
  }

  finish(address: string, name: string, ok: boolean): void {
    const key = `${address}\n${name}`;
    const e = this.byAddress.get(key);
    if (!e) return;
    e.inFlight = Math.max(0, e.inFlight - 1);
    if (ok) { e.failures = 0; e.blockedUntil = 0; }
    else if (++e.failures >= FREE_FAILURES) e.blockedUntil = this.now() + Math.min(MAX_BLOCK_MS, 1000 * 2 ** (e.failures - FREE_FAILURES));
    if (e.failures === 0 && e.inFlight === 0) this.byAddress.delete(key);
  }

  private prune(t: number): void {
    // bounded memory whatever names are tried: the oldest entry goes first (a Map keeps insertion order); O(1) a login
    if (this.byAddress.size >= MAX_ENTRIES) this.byAddress.delete(this.byAddress.keys().next().value!);
    // forgotten entries are swept at most once a minute, not on every login
    if (this.byAddress.size < 1024 || t - this.lastSweep < SWEEP_EVERY_MS) return;
    this.lastSweep = t;
    for (const [k, e] of this.byAddress) if (e.inFlight === 0 && e.blockedUntil < t && t - e.last > FORGET_MS) this.byAddress.delete(k);
  }
}
