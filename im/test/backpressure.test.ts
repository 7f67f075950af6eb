// Overload: when writes queue faster than the server commits them, it stops reading from clients (counted in
// /metrics) and resumes once the queue has drained; every message is still acknowledged, in order, exactly once.
import { describe, it, expect, afterAll } from 'vitest';
import { startTestServer, addUsers, admin, type TestServer } from './helpers.ts';
import { login, ImConnection } from '../src/client.ts';

let srv: TestServer;
afterAll(async () => { await srv?.stop(); });

describe('backpressure', () => {
  it('pauses reading while more than 4 batches wait, then acks everything', async () => {
    // tiny batches, slow commits: 400 messages sent at once are far more than 4 batches of 10
    srv = await startTestServer({ storage: { max_batch: 10, commit_window_ms: 50 }, limits: { messages_per_second: 10000, message_burst: 10000 } });
    expect(admin(srv, ['users', 'add', 'pat', '--admin'], 'pw').code).toBe(0);
    addUsers(srv, ['quinn']);
    const token = (await login(srv.url, 'pat', 'pw')).token;
    const pat = await ImConnection.connect(srv.wsUrl, token);
    const conv = (await pat.direct('quinn')).conv;
    const acks = await Promise.all(Array.from({ length: 400 }, (_, i) => pat.send(conv, `m${i}`, `c${i}`)));
    expect(acks.map((a) => a.seq)).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
    pat.close();
    const metrics = await (await fetch(`${srv.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
    const pauses = Number(/^im_read_pauses_total (\d+)/m.exec(metrics)?.[1]);
    expect(pauses).toBeGreaterThan(0);
  }, 60000);
});
