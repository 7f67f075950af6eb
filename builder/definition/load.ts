// Loads an image definition: YAML with positions → zod validation → typed ImageDefinition, all problems at once.
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { ConfigError } from '../errors.ts';
import { definitionSchema, type ImageDefinition } from './schema.ts';
import { didYouMean, knownKeys, positionOf, type Path } from './locate.ts';
import { formatOf } from '../base/download.ts';

export interface LoadedDefinition {
  file: string;
  dir: string;
  def: ImageDefinition;
  /** sha256 of the canonical JSON of the validated definition (defaults filled in). */
  hash: string;
}

/** What a YAML value is, in the words of the file: a list, a mapping, the number 5, nothing. */
function describeInput(v: unknown): string {
  if (v === undefined) return 'nothing (the field is required)';
  if (v === null) return 'an empty value';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v === 'number' ? 'the number' : ''} ${String(v)}`.trim();
  return `a ${typeof v}`;
}

const TYPE_WORDS: Record<string, string> = { int: 'a whole number', number: 'a number', string: 'a string', boolean: 'true or false', array: 'a list', object: 'a mapping', record: 'a mapping' };

function describeIssue(issue: any): string {
  if (issue.code === 'invalid_type') {
    const expected = TYPE_WORDS[issue.expected] ?? issue.expected;
    // an unquoted digest or version made of digits is read by YAML as a number
    const quote = issue.expected === 'string' && typeof issue.input === 'number' ? ' (put it in quotes)' : '';
    return `expected ${expected}, got ${describeInput(issue.input)}${quote}`;
  }
  if (issue.code === 'too_small' && issue.origin === 'string') return issue.minimum === 1 ? 'must not be empty' : `needs at least ${issue.minimum} characters`;
  if (issue.code === 'too_small') return `must be at least ${issue.minimum}${issue.origin === 'array' ? ' items' : ''}`;
  if (issue.code === 'too_big' && issue.origin === 'string') return `may have at most ${issue.maximum} characters`;
  if (issue.code === 'too_big') return `must be at most ${issue.maximum}${issue.origin === 'array' ? ' items' : ''}`;
  if (issue.code === 'invalid_key') return `key ${JSON.stringify(String(issue.path?.at(-1) ?? ''))}: ${issue.issues?.[0]?.message ?? 'not a valid key'}`;
  if (issue.code === 'invalid_format' && /^Invalid string/.test(issue.message)) return `has the wrong form (expected ${issue.pattern ?? issue.format})`;
  if (issue.code === 'invalid_value' && issue.values) return `expected one of ${issue.values.map((v: unknown) => JSON.stringify(v)).join(', ')}`;
  if (issue.code === 'invalid_union') {
    const kinds = new Set<string>();
    for (const branch of issue.errors ?? []) for (const sub of branch) if (sub.code === 'invalid_type') kinds.add(sub.expected);
    if (kinds.size) return `expected ${[...kinds].join(' or ')}`;
  }
  return issue.message;
}

function fieldName(p: Path): string {
  return p.map((k, i) => (typeof k === 'number' ? `[${k}]` : k.includes('.') ? `["${k}"]` : i ? `.${k}` : k)).join('') || '(top level)';
}

export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as any)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as any)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/** Why a base.file path cannot be an image (missing, not a regular file, empty), or null. */
function baseFileProblem(file: string): string | null {
  if (!existsSync(file)) return 'does not exist';
  const st = statSync(file);
  if (!st.isFile()) return 'is not a regular file';
  if (st.size === 0) return 'is empty';
  // an archive is checked when unpacked; a raw image must carry an MBR partition table like every Pi OS image
  if (formatOf(file) === '.img' && !hasMbrSignature(file)) return 'is neither a disk image (no partition table) nor an .xz or .zip archive';
  return null;
}

function hasMbrSignature(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(2);
    return readSync(fd, b, 0, 2, 510) === 2 && b[0] === 0x55 && b[1] === 0xaa;
  } finally {
    closeSync(fd);
  }
}

export function parseDefinition(text: string, file: string): ImageDefinition {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const rel = path.relative(process.cwd(), file) || file;
  const problems: string[] = [];
  for (const e of doc.errors) {
    const p = lc.linePos(e.pos[0]);
    const multi = /multiple documents/.test(e.message);
    problems.push(`${rel}:${p.line}:${p.col} YAML: ${multi ? 'a definition is one YAML document; remove the second "---" and what follows' : e.message.split('\n')[0]}`);
  }
  if (problems.length) throw new ConfigError(problems, 'fix the YAML syntax (indentation, quoting) at the place shown');
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (e: any) {
    throw new ConfigError([`${rel}:1:1 YAML: ${String(e.message).split('\n')[0]}`], 'remove the alias/anchor expansion that makes the document explode');
  }
  const r = definitionSchema.safeParse(data ?? {}, { reportInput: true });
  if (r.success) {
    const base = r.data.base.file && path.resolve(path.dirname(file), r.data.base.file);
    const problem = base ? baseFileProblem(base) : null;
    if (problem) {
      const pos = positionOf(doc, lc, ['base', 'file']);
      throw new ConfigError([`${rel}:${pos.line}:${pos.col} base.file: ${base} ${problem}`], 'give the path of a Raspberry Pi OS .img, .img.xz or .zip, relative to the definition file');
    }
    return r.data;
  }
  for (const issue of r.error.issues as any[]) {
    const p: Path = issue.path;
    const field = fieldName(p);
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeys(definitionSchema, p);
      for (const key of issue.keys as string[]) {
        const pos = positionOf(doc, lc, p, key);
        const guess = didYouMean(key, known);
        const where = p.length ? `${field}.${key}` : key;
        problems.push(
          `${rel}:${pos.line}:${pos.col} ${where}: unknown field${guess ? `; did you mean "${guess}"?` : `; known fields: ${known.join(', ')}`}`,
        );
      }
      continue;
    }
    const pos = positionOf(doc, lc, p);
    problems.push(`${rel}:${pos.line}:${pos.col} ${field}: ${describeIssue(issue)}`);
  }
  const place = (s: string) => s.slice(rel.length + 1).split(':').slice(0, 2).map((x) => parseInt(x, 10)) as [number, number];
  problems.sort((a, b) => place(a)[0] - place(b)[0] || place(a)[1] - place(b)[1]);
  throw new ConfigError(problems, `see the field reference: pibake schema (or README "Image definitions")`);
}

export function loadDefinition(file: string): LoadedDefinition {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e: any) {
    throw new ConfigError([`${file}: cannot read the definition (${e.code ?? e.message})`], 'give the path of an image definition, e.g. images/im-server.yaml');
  }
  const def = parseDefinition(text, file);
  const hash = createHash('sha256').update(canonicalJson(def)).digest('hex');
  return { file: path.resolve(file), dir: path.dirname(path.resolve(file)), def, hash };
}
