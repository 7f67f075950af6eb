// A zod refinement for lists of named items (files, accounts): two items may not share a name.
import type { z } from 'zod';

export function uniqueNames(items: { name: string }[], ctx: z.RefinementCtx): void {
  uniqueNamesAs('each becomes one file')(items, ctx);
}

/** The same, with the reason shown to the user. */
export function uniqueNamesAs(why: string) {
  return (items: { name: string }[], ctx: z.RefinementCtx): void => {
    const seen = new Set<string>();
    items.forEach((item, i) => {
      if (seen.has(item.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `"${item.name}" is used twice; ${why}` });
      seen.add(item.name);
    });
  };
}
