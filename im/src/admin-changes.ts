// Conversations the admin CLI changed (another process: groups create/add/remove/rename/delete, users remove):
// each live session gets conv_update / conv_removed for the difference, as after the same change through the API.
import type { Ctx } from './ws-handlers.ts';
import { convUpdate } from './ws-handlers.ts';
import type { Session } from './hub.ts';

/** Call after another process committed: compares every session's conversations with what it was last told. */
export function pushExternalConvChanges(ctx: Ctx, sessions: Iterable<Session>): void {
  const now = new Map<number, Map<number, string>>(); // per user, read once per pass
  for (const s of sessions) {
    if (!s.user || !s.convs) continue;
    let mine = now.get(s.user.id);
    if (!mine) { mine = ctx.store.convSignatures(s.user.id); now.set(s.user.id, mine); }
    for (const [conv, sig] of mine) if (s.convs.get(conv) !== sig) ctx.hub.write(s, convUpdate(ctx, conv));
    for (const conv of s.convs.keys()) if (!mine.has(conv)) ctx.hub.write(s, JSON.stringify({ type: 'conv_removed', conv }));
    s.convs = mine;
  }
}
