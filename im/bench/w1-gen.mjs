// W1 load-generator core for bench.mjs: logins, the global 2 ms send schedule, receive bookkeeping, drain. Used in-process (--gen-procs 1) and by w1-worker.mjs.
// Times are wall-clock based (performance.timeOrigin + performance.now()), so send stamps written by one generator
// process and receive times taken in another are on the same clock (same host): latency = receive − send stamp.
import { performance } from 'node:perf_hooks';
import { login, ImConnection } from '../src/client.ts';

export const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Logs in users first+ids[k]+1 for every k; clients[k] is the connection (undefined when it failed). */
export async function connectClients(base, ws, ids, onMsg, { concurrency = 20, first = 0, log = () => {} } = {}) {
  const clients = new Array(ids.length);
  let next = 0, failed = 0;
  async function worker() {
    while (next < ids.length) {
      const k = next++, i = ids[k];
      try {
        const { token } = await login(base, `user${first + i + 1}`, 'pass');
        clients[k] = await ImConnection.connect(ws, token, { setup: (c) => onMsg && c.on('msg', (m) => onMsg(i, m)) });
      } catch (e) { failed++; log(`client ${first + i + 1}: ${e.message}`); }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { clients, failed };
}

/**
 * One generator for the clients `ids` (whole pairs: i and i^1) of N clients at total load L. It sends its share
 * own/N·L msgs/s: every 2 ms floor(elapsed·share) − sent messages, round-robin over its clients, each to the
 * partner's conversation; body `w1|sender|seq|send time ms|xxx…` padded to `body` bytes.
 */
export function createGenerator({ N, ids, L, warmup, duration, body, pairs }) {
  const perClient = Math.ceil((L * (warmup + duration)) / N) + 2;
  const seen = new Uint8Array(N * perClient);
  const st = { sent: 0, sentInWindow: 0, recvUnique: 0, recvInWindow: 0, dups: 0, errors: 0, lat: [], tStart: 0, tMeasStart: Infinity, tMeasEnd: Infinity, tSendEnd: 0, tEnd: 0, backlog: 0 };
  const onMsg = (_i, m) => {
    const t = now();
    const p = m.body.split('|');
    const k = +p[1] * perClient + +p[2];
    const ts = +p[3];
    if (seen[k]) { st.dups++; return; }
    seen[k] = 1; st.recvUnique++;
    if (t >= st.tMeasStart && t < st.tMeasEnd) st.recvInWindow++;
    if (ts >= st.tMeasStart && ts < st.tMeasEnd) st.lat.push(t - ts);
  };
  const share = (L * ids.length) / N;
  /** Sends from tStart (wall-clock ms, may lie a little in the future) to the end of the window. clients[k] belongs to ids[k]. */
  async function send(clients, tStart) {
    const slot = new Map(ids.map((i, k) => [i, k]));
    const seqs = new Int32Array(N);
    const total = Math.ceil(share * (warmup + duration));
    st.tStart = tStart; st.tMeasStart = tStart + warmup * 1000; st.tMeasEnd = st.tMeasStart + duration * 1000;
    while (now() < tStart) await sleep(Math.min(50, Math.max(1, tStart - now())));
    let rr = 0;
    await new Promise((res) => {
      const tick = () => {
        const t = now();
        if (t >= st.tMeasEnd) return res();
        const due = Math.min(total, Math.floor(((t - tStart) / 1000) * share));
        let guard = 0;
        while (st.sent < due && guard++ < 5000) {
          const k = rr; rr = (rr + 1) % ids.length;
          const i = ids[k], c = clients[k];
          if (!c || !clients[slot.get(i ^ 1)] || seqs[i] >= perClient - 1) continue;
          const seq = seqs[i]++;
          const ts = now();
          let b = `w1|${i}|${seq}|${ts.toFixed(3)}|`;
          b += 'x'.repeat(Math.max(0, body - b.length));
          c.post({ type: 'send', conv: pairs[i >> 1], client_id: `${i}-${seq}`, body: b });
          st.sent++;
          if (ts >= st.tMeasStart) st.sentInWindow++;
        }
        setTimeout(tick, 2);
      };
      tick();
    });
    st.tSendEnd = now();
    st.backlog = st.sent - st.recvUnique;
  }
  /** Waits until everything sent arrived, at most 30 s and at most 10 s without progress. */
  async function drain() {
    let last = st.recvUnique, lastT = now();
    while (st.recvUnique < st.sent && now() - st.tSendEnd < 30000) {
      await sleep(100);
      if (st.recvUnique !== last) { last = st.recvUnique; lastT = now(); } else if (now() - lastT > 10000) break;
    }
    st.tEnd = now();
  }
  return { st, onMsg, send, drain };
}

/** Client indices of generator p of P: whole pairs, pair j to generator j mod P. */
export const shareOf = (N, p, P) => Array.from({ length: N }, (_, i) => i).filter((i) => (i >> 1) % P === p);
