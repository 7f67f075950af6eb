// Two throwaway accounts exchange one message through the forwarded port (placeholder until im/ documents its protocol).
import type { VerifyCheck } from '../stage.ts';

export function roundTripCheck(): VerifyCheck {
  return {
    id: 'im.message-round-trip',
    title: 'two clients exchange a message',
    host: async () => {
      throw new Error('not implemented yet');
    },
  };
}
