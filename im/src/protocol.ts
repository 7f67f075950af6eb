// The WebSocket frame vocabulary shared by server and client: request types, their fields, and error codes.

/** Field kinds: 'int' positive integer, 'int0' integer >= 0, 'str' non-empty string, 'bool', 'strs' string array; '?' = optional. */
export const REQUESTS = {
  auth: { token: 'str', cursor: 'int0?' },
  ping: {},
  send: { conv: 'int', client_id: 'str', body: 'str' },
  direct: { user: 'str' },
  group_create: { name: 'str', members: 'strs' },
  group_rename: { conv: 'int', name: 'str' },
  group_add: { conv: 'int', user: 'str' },
  group_remove: { conv: 'int', user: 'str' },
  group_leave: { conv: 'int' },
  convs: {},
  history: { conv: 'int', before: 'int?', limit: 'int?' },
  receipt: { conv: 'int', kind: 'str', seq: 'int' },
  typing: { conv: 'int', on: 'bool?' },
  presence: { users: 'strs' },
} as const;

export type RequestType = keyof typeof REQUESTS;

export const ERROR_CODES = [
  'bad_json', 'frame_too_large', 'unknown_type', 'bad_field', 'not_authenticated', 'auth_failed',
  'not_member', 'no_such_conv', 'no_such_user', 'body_too_large', 'rate_limited', 'too_many_connections',
  'not_a_group', 'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface WireMessage { mid: number; conv: number; seq: number; from: string; body: string; ts: number; client_id: string }
export interface WireConv { conv: number; kind: 'direct' | 'group'; name: string; members: string[]; last_seq: number; read_seq: number; delivered_seq: number; unread: number; receipts: { user: string; delivered_seq: number; read_seq: number }[] }

export class FrameError extends Error {
  code: ErrorCode;
  constructor(code: ErrorCode, message: string) { super(message); this.code = code; }
}

function checkField(kind: string, value: unknown): boolean {
  switch (kind) {
    case 'int': return Number.isSafeInteger(value) && (value as number) > 0;
    case 'int0': return Number.isSafeInteger(value) && (value as number) >= 0;
    case 'str': return typeof value === 'string' && value.length > 0;
    case 'bool': return typeof value === 'boolean';
    case 'strs': return Array.isArray(value) && value.every((v) => typeof v === 'string' && v.length > 0);
    default: return false;
  }
}

/** Checks a parsed frame against REQUESTS; throws FrameError naming the first problem. */
export function validateRequest(frame: unknown): { type: RequestType; ref?: unknown; [k: string]: any } {
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) throw new FrameError('bad_json', 'frame must be a JSON object');
  const f = frame as Record<string, unknown>;
  if (typeof f.type !== 'string') throw new FrameError('unknown_type', 'frame has no "type" string');
  const spec = (REQUESTS as Record<string, Record<string, string>>)[f.type];
  if (!spec || !Object.hasOwn(REQUESTS, f.type)) throw new FrameError('unknown_type', `unknown frame type "${f.type.slice(0, 40)}"`);
  for (const [field, kindSpec] of Object.entries(spec)) {
    const optional = kindSpec.endsWith('?');
    const kind = optional ? kindSpec.slice(0, -1) : kindSpec;
    const value = f[field];
    if (value === undefined || value === null) {
      if (optional) continue;
      throw new FrameError('bad_field', `${f.type}: missing field "${field}"`);
    }
    if (!checkField(kind, value)) throw new FrameError('bad_field', `${f.type}: field "${field}" must be ${kind === 'int' ? 'a positive integer' : kind === 'int0' ? 'a non-negative integer' : kind === 'strs' ? 'an array of strings' : kind === 'bool' ? 'true or false' : 'a non-empty string'}`);
  }
  return f as any;
}
