// A zod refinement for a stage whose lists must not share an item (a unit enabled and masked, a package installed and purged).
import type { z } from 'zod';

/**
 * Reports every item of `fields` that also stands in an earlier field, at its own place, naming both fields.
 * `key` maps an item to what makes two items the same (a package without its =version).
 */
export function disjointLists<T extends Record<string, string[]>>(fields: (keyof T & string)[], why: string, key: (item: string) => string = (x) => x) {
  return (cfg: T, ctx: z.RefinementCtx): void => {
    const firstIn = new Map<string, string>();
    for (const field of fields) {
      cfg[field]!.forEach((item, i) => {
        const k = key(item);
        const earlier = firstIn.get(k);
        if (earlier && earlier !== field) ctx.addIssue({ code: 'custom', path: [field, i], message: `"${item}" is also in ${earlier}; ${why}` });
        else firstIn.set(k, field);
      });
    }
  };
}
