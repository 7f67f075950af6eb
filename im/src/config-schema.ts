// The config schema as data (type, default, bounds, fix hint per key) and a small strict validator for it.
import { scryptParamsUsable } from './scrypt-params.ts';
import { isIP } from 'node:net';

export type FieldSpec =
  | { kind: 'int'; default?: number; min: number; max: number; hint?: string }
  | { kind: 'number'; default?: number; min: number; max: number; hint?: string }
  | { kind: 'string'; default?: string; pattern?: RegExp; check?: (v: string) => boolean; hint?: string }
  | { kind: 'bool'; default?: boolean; hint?: string }
  | { kind: 'enum'; default?: string; values: string[]; hint?: string }
  | { kind: 'object'; fields: Record<string, FieldSpec>; optional?: boolean; hint?: string };

const int = (def: number, min = 1, max = 2 ** 31 - 1, hint?: string): FieldSpec => ({ kind: 'int', default: def, min, max, hint });
const str = (def: string, hint = 'give a non-empty path or value'): FieldSpec => ({ kind: 'string', default: def, hint });

/** A directory given as an absolute path (a service's working directory is /, so relative paths mislead). */
const absPath = (def: string): FieldSpec => ({ kind: 'string', default: def, pattern: /^\//, hint: 'give an absolute path, e.g. ' + def });

export const SCHEMA: Record<string, FieldSpec> = {
  listen: { kind: 'object', fields: {
    address: { kind: 'string', default: '0.0.0.0', check: (v) => isIP(v) !== 0, hint: 'give an IPv4 or IPv6 address to listen on, e.g. 0.0.0.0, :: or 127.0.0.1' },
    port: int(8080, 1, 65535, 'use a port number between 1 and 65535'),
  } },
  data_dir: absPath('/var/lib/pibake-im'),
  log_dir: absPath('/var/log/pibake-im'),
  logging: { kind: 'object', fields: {
    level: { kind: 'enum', default: 'info', values: ['error', 'warn', 'info', 'debug'], hint: 'use one of error, warn, info, debug' },
  } },
  threading: { kind: 'object', fields: {
    max_threads: int(50, 1, 1024, 'use a whole number between 1 and 1024 (libuv worker threads)'),
  } },
  limits: { kind: 'object', fields: {
    max_connections: int(5000),
    max_frame_bytes: int(65536, 1024, 16 * 1024 * 1024, 'use bytes between 1024 (an auth frame must fit) and 16777216'),
    max_message_bytes: int(4096, 1, 1024 * 1024, 'use bytes between 1 and 1048576 (and below max_frame_bytes)'),
    messages_per_second: int(50),
    message_burst: int(100),
    ping_interval_seconds: int(30),
    idle_timeout_seconds: int(90),
    max_buffered_bytes: int(4 * 1024 * 1024),
  } },
  storage: { kind: 'object', fields: {
    commit_window_ms: { kind: 'number', default: 20, min: 0, max: 1000, hint: 'use milliseconds between 0 and 1000' },
    max_batch: int(2000),
  } },
  auth: { kind: 'object', fields: {
    token_ttl_days: { kind: 'number', default: 30, min: 0.00001, max: 3650, hint: 'use a number of days, e.g. 30' },
    open_registration: { kind: 'bool', default: false, hint: 'use true or false' },
    min_password_length: int(8, 1, 1024, 'use a number of characters from 1 to 1024'),
  } },
  backup: { kind: 'object', fields: {
    dir: absPath('/var/lib/pibake-im/backups'),
    retention: int(7, 1, 10000, 'use how many backups to keep, e.g. 7'),
  } },
  bootstrap_admin: { kind: 'object', optional: true, fields: {
    name: { kind: 'string', pattern: /^[a-z0-9_][a-z0-9_.-]{0,31}$/, hint: 'use 1-32 characters from a-z 0-9 _ . -, not starting with - or .' },
    password_hash: { kind: 'string', pattern: /^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=_-]+\$[A-Za-z0-9+/=_-]+$/, check: scryptParamsUsable, hint: "paste the output of 'pibake-im-admin hash-password' (N a power of two ≥ 1024, 128·N·r ≤ 16 MiB, N·r·p ≤ 262144: no dearer than its own)" },
  } },
};

export interface Issue { path: string[]; message: string; hint: string }

const describeValue = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v.length > 30 ? v.slice(0, 30) + '…' : v) : Array.isArray(v) ? 'a list' : v === null ? 'nothing' : typeof v === 'object' ? 'a mapping' : String(v));

function checkField(spec: FieldSpec, value: unknown, path: string[]): unknown {
  const fail = (message: string): never => { throw { path, message, hint: spec.hint ?? 'see the config schema in im/README.md' } satisfies Issue; };
  switch (spec.kind) {
    case 'int': case 'number': {
      if (typeof value !== 'number' || !Number.isFinite(value)) fail(`expected a number, got ${describeValue(value)}`);
      const n = value as number;
      if (spec.kind === 'int' && !Number.isInteger(n)) fail(`expected a whole number, got ${n}`);
      if (n < spec.min || n > spec.max) fail(`${n} is out of range ${spec.min}..${spec.max}`);
      return n;
    }
    case 'string':
      if (typeof value !== 'string' || value.length === 0) fail(`expected a non-empty string, got ${describeValue(value)}`);
      if ((spec.pattern && !spec.pattern.test(value as string)) || (spec.check && !spec.check(value as string))) fail(`${describeValue(value)} has the wrong format`);
      return value;
    case 'bool':
      if (typeof value !== 'boolean') fail(`expected true or false, got ${describeValue(value)}`);
      return value;
    case 'enum':
      if (typeof value !== 'string' || !spec.values.includes(value)) fail(`expected one of ${spec.values.join(', ')}, got ${describeValue(value)}`);
      return value;
    case 'object':
      return checkObject(spec.fields, value, path);
  }
}

function checkObject(fields: Record<string, FieldSpec>, value: unknown, path: string[]): Record<string, unknown> {
  if (value === undefined || value === null) value = {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw { path, message: `expected a mapping of keys, got ${describeValue(value)}`, hint: 'indent its keys under it' } satisfies Issue;
  }
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!Object.hasOwn(fields, key)) throw { path: [...path, key], message: `unknown key ${key}`, hint: `remove it or check its spelling (known: ${Object.keys(fields).join(', ')})` } satisfies Issue;
  }
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(fields)) {
    const v = obj[key];
    if (v === undefined || v === null) {
      if (spec.kind === 'object') { if (!spec.optional) out[key] = checkObject(spec.fields, {}, [...path, key]); continue; }
      if (spec.default === undefined) throw { path: [...path, key], message: 'is required', hint: spec.hint ?? 'add it' } satisfies Issue;
      out[key] = spec.default;
      continue;
    }
    out[key] = checkField(spec, v, [...path, key]);
  }
  return out;
}

/** Validates raw YAML data against SCHEMA, filling defaults; throws an Issue. */
export function validateConfig(raw: unknown): Record<string, unknown> {
  return checkObject(SCHEMA, raw, []);
}
