// Connection slots: sockets that never authenticate hold only a share of max_connections (the oldest makes room
// for a new one), so silent clients cannot fill the server; authenticated users still get in.
import { describe, it, expect, afterAll } from 'vitest';
import WebSocket from 'ws';
import { startTestServer, addUsers, type TestServer } from './helpers.ts';
import { login, ImConnection } from '../src/client.ts';

let srv: TestServer;
afterAll(async () => { await srv?.stop(); });

function open(url: string): Promise<{ ws: WebSocket; closed: Promise<number> }> {
  const ws = new WebSocket(url);
  const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
  return new Promise((r, j) => { ws.once('open', () => r({ ws, closed })); ws.once('error', j); });
}

describe('connection limits', () => {
  it('at most max(16, max_connections/8) unauthenticated sockets; an authenticated client still connects', async () => {
    srv = await startTestServer({ limits: { max_connections: 40 } });
    addUsers(srv, ['uma']);
    const silent = [];
    for (let i = 0; i < 16; i++) silent.push(await open(srv.wsUrl));
    await open(srv.wsUrl); // the 17th: the oldest silent one is closed to make room
    expect(await silent[0].closed).toBe(1013);
    const uma = await ImConnection.connect(srv.wsUrl, (await login(srv.url, 'uma', 'pw')).token);
    expect((await uma.convs()).length).toBe(0);
    uma.close();
    for (const s of silent) s.ws.close();
  }, 30000);
});
