// Loads and validates the YAML config file; every problem becomes one line "file:line: key: what — fix: how".
import { readFileSync } from 'node:fs';
import { parseDocument, LineCounter, isMap, isSeq, type Node } from 'yaml';
import { z } from 'zod';

const port = z.number().int().min(1).max(65535);
const positiveInt = z.number().int().positive();

export const configSchema = z.strictObject({
  listen: z.strictObject({
    address: z.string().min(1).default('0.0.0.0'),
    port: port.default(8080),
  }).prefault({}),
  data_dir: z.string().min(1).default('/var/lib/pibake-im'),
  log_dir: z.string().min(1).default('/var/log/pibake-im'),
  logging: z.strictObject({
    level: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
  }).prefault({}),
  threading: z.strictObject({
    max_threads: z.number().int().min(1).max(1024).default(50),
  }).prefault({}),
  limits: z.strictObject({
    max_connections: positiveInt.default(5000),
    max_frame_bytes: positiveInt.default(65536),
    max_message_bytes: positiveInt.default(4096),
    messages_per_second: positiveInt.default(50),
    message_burst: positiveInt.default(100),
    ping_interval_seconds: positiveInt.default(30),
    idle_timeout_seconds: positiveInt.default(90),
    max_buffered_bytes: positiveInt.default(4 * 1024 * 1024),
  }).prefault({}),
  storage: z.strictObject({
    commit_window_ms: z.number().min(0).max(1000).default(2),
    max_batch: positiveInt.default(2000),
  }).prefault({}),
  auth: z.strictObject({
    token_ttl_days: z.number().positive().default(30),
    open_registration: z.boolean().default(false),
  }).prefault({}),
  backup: z.strictObject({
    dir: z.string().min(1).default('/var/lib/pibake-im/backups'),
    retention: positiveInt.default(7),
  }).prefault({}),
  bootstrap_admin: z.strictObject({
    name: z.string().regex(/^[a-z0-9_.-]{1,32}$/),
    password_hash: z.string().regex(/^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=_-]+\$[A-Za-z0-9+/=_-]+$/),
  }).optional(),
});

export type Config = z.infer<typeof configSchema>;
export const DEFAULT_CONFIG_PATH = '/etc/pibake-im/config.yaml';

export class ConfigError extends Error {}

const FIX_HINTS: Record<string, string> = {
  'logging.level': 'use one of error, warn, info, debug',
  'threading.max_threads': 'use a whole number between 1 and 1024 (libuv worker threads)',
  'listen.port': 'use a port number between 1 and 65535',
  'bootstrap_admin.password_hash': "paste the output of 'pibake-im-admin hash-password'",
  'bootstrap_admin.name': 'use 1-32 characters from a-z 0-9 _ . -',
};

/** Picks the config path from --config, then PIBAKE_IM_CONFIG, then the default. */
export function configPathFromArgs(argv: string[], env: NodeJS.ProcessEnv): string {
  const i = argv.indexOf('--config');
  if (i >= 0 && argv[i + 1]) return argv[i + 1];
  const eq = argv.find((a) => a.startsWith('--config='));
  if (eq) return eq.slice('--config='.length);
  return env.PIBAKE_IM_CONFIG || DEFAULT_CONFIG_PATH;
}

function nodeAtPath(root: Node | null, path: PropertyKey[]): Node | null {
  let node: Node | null = root;
  let deepest = root;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as any)?.value === key);
      if (!pair) return deepest;
      node = (pair.value as Node) ?? (pair.key as Node);
      deepest = (pair.key as Node) ?? deepest;
      if (node) deepest = node;
    } else if (isSeq(node) && typeof key === 'number') {
      node = node.items[key] as Node;
      if (node) deepest = node;
    } else return deepest;
  }
  return deepest;
}

function describe(issue: z.core.$ZodIssue, keyPath: string): string {
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.join(', ');
    return `${keyPath ? keyPath + ': ' : ''}unknown key ${keys} — fix: remove it or check its spelling`;
  }
  const hint = FIX_HINTS[keyPath];
  const msg = issue.message.replace(/\s+/g, ' ');
  return `${keyPath || '(top level)'}: ${msg} — fix: ${hint ?? 'see the config schema in im/README.md'}`;
}

/** Parses YAML text into a validated config; throws ConfigError with a one-line message. */
export function parseConfig(text: string, file: string): Config {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const { line } = lc.linePos(e.pos[0]);
    throw new ConfigError(`${file}:${line}: invalid YAML: ${e.message.split('\n')[0]} — fix: correct the YAML syntax`);
  }
  const raw = doc.toJS() ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(`${file}:1: the config must be a mapping of keys — fix: start with e.g. "listen:"`);
  }
  const result = configSchema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue.path;
  const node = nodeAtPath(doc.contents as Node, issue.code === 'unrecognized_keys' ? [...path, issue.keys[0]] : path);
  const line = node?.range ? lc.linePos(node.range[0]).line : 1;
  throw new ConfigError(`${file}:${line}: ${describe(issue, path.join('.'))}`);
}

/** Reads and validates a config file; a missing file yields the defaults only when allowMissing. */
export function loadConfig(file: string, allowMissing = false): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err: any) {
    if (err.code === 'ENOENT' && allowMissing) return configSchema.parse({});
    throw new ConfigError(`${file}: cannot read config (${err.code ?? err.message}) — fix: create it or pass --config <file>`);
  }
  return parseConfig(text, file);
}
