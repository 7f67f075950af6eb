// A zod refinement for lists of named items that each become a file: two items may not share a name.
import type { z } from 'zod';

export function uniqueNames(items: { name: string }[], ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    if (seen.has(item.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `"${item.name}" is used twice; each becomes one file` });
    seen.add(item.name);
  });
}
