// Two throwaway accounts (made in the guest with the admin CLI) exchange one message through the forwarded port.
import { randomBytes } from 'node:crypto';
import type { VerifyCheck } from '../stage.ts';
import { ImConnection, login, type WireMessage } from '../../im/src/client.ts';

const ADMIN = '/opt/pibake-im/bin/pibake-im-admin';
const CONFIG = '/etc/pibake-im/config.yaml';

export function roundTripCheck(): VerifyCheck {
  const tag = randomBytes(3).toString('hex');
  const users = [`verify-a-${tag}`, `verify-b-${tag}`];
  const password = randomBytes(12).toString('hex');
  return {
    id: 'im.message-round-trip',
    title: 'two throwaway clients exchange a message',
    guest: users.map((u) => `printf '%s' '${password}' | ${ADMIN} --config ${CONFIG} users add ${u}`).join(' && \\\n'),
    host: async ({ httpBase }) => {
      const wsUrl = `${httpBase.replace(/^http/, 'ws')}/ws`;
      const [a, b] = await Promise.all(users.map((u) => login(httpBase, u, password)));
      const ca = await ImConnection.connect(wsUrl, a!.token);
      const cb = await ImConnection.connect(wsUrl, b!.token);
      try {
        const body = `pibake verify ${tag}`;
        const received = new Promise<WireMessage>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error('the message did not arrive within 15 s')), 15_000);
          cb.on('msg', (f) => {
            if (f.body === body) {
              clearTimeout(t);
              resolve(f as WireMessage);
            }
          });
        });
        const conv = await ca.direct(users[1]!);
        const t0 = Date.now();
        const ack = await ca.send(conv.conv, body, `verify-${tag}`);
        const msg = await received;
        return `${users[0]} -> ${users[1]}: acked seq ${ack.seq}, delivered mid ${msg.mid} in ${Date.now() - t0} ms`;
      } finally {
        ca.close();
        cb.close();
      }
    },
  };
}
