// Thin leveled logger writing one line per event to stdout (journald adds the timestamp).
export type Level = 'error' | 'warn' | 'info' | 'debug';
const RANK: Record<Level, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface Logger {
  error(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
}

function format(level: Level, msg: string, fields?: Record<string, unknown>): string {
  let line = `${level}: ${msg}`;
  if (fields) for (const [k, v] of Object.entries(fields)) line += ` ${k}=${typeof v === 'string' ? JSON.stringify(v) : String(v)}`;
  return line + '\n';
}

export function createLogger(level: Level, write: (s: string) => void = (s) => process.stdout.write(s)): Logger {
  const max = RANK[level];
  const at = (l: Level) => (msg: string, fields?: Record<string, unknown>) => {
    if (RANK[l] <= max) write(format(l, msg, fields));
  };
  return { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}
