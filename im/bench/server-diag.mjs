// Server-side figures for a W1 window, read from the server's own /metrics: event-loop stalls and commit latency
// tails, so a latency failure can be told apart as CPU (loop blocked), SQL (transaction held the loop) or disk (fsync).
import { login } from '../src/client.ts';

async function scrape(base, token) {
  const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
  const m = new Map();
  for (const line of (await res.text()).split('\n')) {
    const r = /^([a-z_]+(?:\{[^}]*\})?) ([0-9.eE+-]+|NaN)$/.exec(line);
    if (r) m.set(r[1], Number(r[2]));
  }
  return m;
}

/** Histogram buckets of `name` as [le, cumulative count] pairs, +Inf last. */
function buckets(m, name) {
  const out = [];
  for (const [k, v] of m) {
    const r = new RegExp(`^${name}_bucket\\{le="([^"]+)"\\}$`).exec(k);
    if (r) out.push([r[1] === '+Inf' ? Infinity : Number(r[1]), v]);
  }
  return out.sort((a, b) => a[0] - b[0]);
}

/** Seconds spent in garbage collection so far, every kind. */
const gcSeconds = (m) => [...m].reduce((t, [k, v]) => t + (k.startsWith('nodejs_gc_duration_seconds_sum') ? v : 0), 0);

/** start() before the window (also resets prom-client's loop-lag max), end() after it: the window's diagnostics. */
export async function serverDiag(base, user, password) {
  const { token } = await login(base, user, password);
  const before = await scrape(base, token);
  return {
    async end() {
      const after = await scrape(base, token);
      const over = (name, s) => {
        const b0 = new Map(buckets(before, name)), b1 = buckets(after, name);
        const total = (after.get(`${name}_count`) ?? 0) - (before.get(`${name}_count`) ?? 0);
        const le = b1.find(([l]) => l >= s);
        return total - ((le?.[1] ?? 0) - (b0.get(le?.[0]) ?? 0));
      };
      const maxBucket = (name) => {
        const b0 = new Map(buckets(before, name));
        const b1 = buckets(after, name);
        const total = (after.get(`${name}_count`) ?? 0) - (before.get(`${name}_count`) ?? 0);
        const hit = b1.find(([l, v]) => v - (b0.get(l) ?? 0) >= total);
        return hit ? hit[0] : null;
      };
      return {
        server_loop_lag_max_ms: +((after.get('nodejs_eventloop_lag_max_seconds') ?? 0) * 1000).toFixed(1),
        server_gc_s: +(gcSeconds(after) - gcSeconds(before)).toFixed(3),
        commits: (after.get('im_commit_seconds_count') ?? 0) - (before.get('im_commit_seconds_count') ?? 0),
        commits_over_100ms: over('im_commit_seconds', 0.1),
        commits_over_1s: over('im_commit_seconds', 1),
        commit_sql_max_le_s: maxBucket('im_commit_sql_seconds'),
        commit_sql_over_50ms: over('im_commit_sql_seconds', 0.05),
      };
    },
  };
}
