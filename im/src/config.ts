// Loads and validates the YAML config file; every problem becomes one line "file:line: key: what — fix: how".
import { readFileSync } from 'node:fs';
import { parseDocument, LineCounter, isMap, isSeq, type Node } from 'yaml';
import { validateConfig, type Issue } from './config-schema.ts';

export interface Config {
  listen: { address: string; port: number };
  data_dir: string;
  log_dir: string;
  logging: { level: 'error' | 'warn' | 'info' | 'debug' };
  threading: { max_threads: number };
  limits: {
    max_connections: number; max_frame_bytes: number; max_message_bytes: number; messages_per_second: number;
    message_burst: number; ping_interval_seconds: number; idle_timeout_seconds: number; max_buffered_bytes: number;
  };
  storage: { commit_window_ms: number; max_batch: number };
  auth: { token_ttl_days: number; open_registration: boolean; min_password_length: number };
  backup: { dir: string; retention: number };
  bootstrap_admin?: { name: string; password_hash: string };
}

export const DEFAULT_CONFIG_PATH = '/etc/pibake-im/config.yaml';

export class ConfigError extends Error {}

/** Picks the config path from --config, then PIBAKE_IM_CONFIG, then the default. */
export function configPathFromArgs(argv: string[], env: NodeJS.ProcessEnv): string {
  const i = argv.indexOf('--config');
  if (i >= 0 && (!argv[i + 1] || argv[i + 1].startsWith('--'))) throw new ConfigError('--config needs a file — fix: --config /etc/pibake-im/config.yaml');
  if (i >= 0) return argv[i + 1];
  const eq = argv.find((a) => a.startsWith('--config='));
  if (eq) return eq.slice('--config='.length);
  return env.PIBAKE_IM_CONFIG || DEFAULT_CONFIG_PATH;
}

function nodeAtPath(root: Node | null, path: string[]): Node | null {
  let node: Node | null = root;
  let deepest = root;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as any)?.value === key);
      if (!pair) return deepest;
      node = (pair.value as Node) ?? (pair.key as Node);
      deepest = (pair.key as Node) ?? deepest;
      if (node) deepest = node;
    } else if (isSeq(node)) {
      node = node.items[Number(key)] as Node;
      if (node) deepest = node;
    } else return deepest;
  }
  return deepest;
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
  try {
    return validateConfig(raw) as unknown as Config;
  } catch (err) {
    if (!(err as Issue)?.path) throw err;
    const issue = err as Issue;
    const node = nodeAtPath(doc.contents as Node, issue.path);
    const line = node?.range ? lc.linePos(node.range[0]).line : 1;
    throw new ConfigError(`${file}:${line}: ${issue.path.join('.') || '(top level)'}: ${issue.message} — fix: ${issue.hint}`);
  }
}

/** Reads and validates a config file (a missing one is an error: defaults would mean a fresh, empty data dir). */
export function loadConfig(file: string): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err: any) {
    throw new ConfigError(`${file}: cannot read config (${err.code ?? err.message}) — fix: create it or pass --config <file>`);
  }
  return parseConfig(text, file);
}
