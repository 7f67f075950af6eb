// Ids are never handed out twice: deletes record the highest id they retired, new rows start above it.
// (SQLite gives max(id)+1, so removing the newest user, group or message would pass its id on: a new account would
// inherit old messages and direct chats, and a reconnecting client's cursor would skip the new message.)

/** Raises meta[key] to the retired id (args: key, id). */
export const RETIRE_SQL = 'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)';

/** SQL expression of the next id of `table`: above every row and every retired id. */
export function nextIdSql(table: 'users' | 'conversations' | 'messages'): string {
  return `max((SELECT COALESCE(max(id), 0) FROM ${table}), (SELECT COALESCE(max(value), 0) FROM meta WHERE key = '${table}_retired_max')) + 1`;
}
