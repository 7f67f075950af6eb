// Extra W1 load-generator process for `bench.mjs --gen-procs N`: runs one w1-gen.mjs generator on command over IPC.
// Protocol (parent -> worker / worker -> parent): {cmd:'connect', base, ws, args} -> {ev:'connected', failed};
// {cmd:'start', tStart} -> {ev:'done', st, lat, cpuS}; {cmd:'close'} -> clients closed, exit. Exits when the parent goes away.
import { connectClients, createGenerator } from './w1-gen.mjs';

let g = null, clients = [];
process.on('disconnect', () => process.exit(0));
process.on('message', async (m) => {
  try {
    if (m.cmd === 'connect') {
      g = createGenerator(m.args);
      const r = await connectClients(m.base, m.ws, m.args.ids, g.onMsg, { log: (...a) => console.error(...a) });
      clients = r.clients;
      for (const c of clients) c?.on('error', () => { g.st.errors++; });
      process.send({ ev: 'connected', failed: r.failed });
    } else if (m.cmd === 'start') {
      const c0 = process.cpuUsage();
      await g.send(clients, m.tStart);
      await g.drain();
      const c = process.cpuUsage(c0);
      const { lat, ...st } = g.st;
      process.send({ ev: 'done', st, lat: Float64Array.from(lat), cpuS: (c.user + c.system) / 1e6 });
    } else if (m.cmd === 'close') {
      for (const c of clients) c?.close();
      setTimeout(() => process.exit(0), 200);
    }
  } catch (e) {
    console.error(`w1-worker: ${e.stack ?? e}`);
    process.exit(1);
  }
});
