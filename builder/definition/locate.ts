// Maps a path in the parsed YAML document to file:line:col, and finds "did you mean" suggestions for unknown keys.
import { isMap, isPair, isScalar, type Document, type LineCounter, type Node } from 'yaml';
import type { z } from 'zod';

export type Path = (string | number)[];

/** The deepest node that exists along the path (so a missing field points at its parent). */
function nodeAt(doc: Document, path: Path): Node | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as Node | undefined;
    if (node && typeof node === 'object' && 'range' in node && node.range) return node;
  }
  return doc.contents ?? undefined;
}

export function positionOf(doc: Document, lc: LineCounter, path: Path, key?: string): { line: number; col: number } {
  let offset = 0;
  if (key !== undefined) {
    const parent = doc.getIn(path, true);
    if (isMap(parent)) {
      const pair = parent.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key);
      if (pair && isScalar(pair.key) && pair.key.range) offset = pair.key.range[0];
    }
  }
  if (!offset) {
    const node = nodeAt(doc, path);
    offset = node?.range?.[0] ?? 0;
  }
  const p = lc.linePos(offset);
  return { line: p.line, col: p.col };
}

/** Keys an object schema accepts at a path, unwrapping optional/default/pipe/array/record wrappers. */
export function knownKeys(schema: z.ZodType, path: Path): string[] {
  let s: any = schema;
  const unwrap = () => {
    for (;;) {
      const d = s?._zod?.def;
      if (!d) return;
      if (['optional', 'default', 'prefault', 'nullable', 'readonly', 'catch'].includes(d.type)) s = d.innerType;
      else if (d.type === 'pipe') s = d.in;
      else return;
    }
  };
  unwrap();
  for (const seg of path) {
    const d = s?._zod?.def;
    if (!d) return [];
    if (d.type === 'object') s = d.shape[seg as string];
    else if (d.type === 'array') s = d.element;
    else if (d.type === 'record') s = d.valueType;
    else return [];
    unwrap();
  }
  const d = s?._zod?.def;
  return d?.type === 'object' ? Object.keys(d.shape) : [];
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}

export function didYouMean(key: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(key.toLowerCase(), c.toLowerCase());
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}
