// Online backup (SQLite backup API) with retention, restore of a backup file, and integrity check.
import Database from 'better-sqlite3';
import { statSync, readdirSync, rmSync, renameSync, openSync, fsyncSync, closeSync, copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join, basename } from 'node:path';
import { dbPath } from './db.ts';
import { MIGRATIONS } from './migrations.ts';
import { makeDirs } from './make-dirs.ts';
import { RETIRE_SQL, nextIdSql } from './retired-ids.ts';

/** A .partial file untouched this long belongs to a backup that died. */
const STALE_PARTIAL_MS = 3600_000;
const BACKUP_RE = /^pibake-im-\d{8}T\d{6}(\d{3})?Z\.db$/;

const SIDECAR_RE = /^(.*)-(wal|shm|journal)$/;

/** Removes the -wal, -shm and -journal files SQLite may have left next to a database file nobody has open. */
function removeSidecars(file: string): void {
  for (const ext of ['-wal', '-shm', '-journal']) rmSync(file + ext, { force: true });
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try { fsyncSync(fd); } finally { closeSync(fd); }
}

export async function backupTo(db: Database.Database, dir: string, retention: number): Promise<{ file: string; removed: string[] }> {
  makeDirs(dir);
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('.', '');
  const file = join(dir, `pibake-im-${stamp}.db`);
  const tmp = `${file}.partial-${process.pid}`;
  await db.backup(tmp);
  fsyncPath(tmp);
  renameSync(tmp, file);
  fsyncPath(dir);
  const all = readdirSync(dir).filter((f) => BACKUP_RE.test(f)).sort();
  const removed = all.slice(0, Math.max(0, all.length - retention));
  for (const f of removed) { rmSync(join(dir, f), { force: true }); removeSidecars(join(dir, f)); }
  // sidecars whose backup is gone (left by older versions' restore, which opened the backup itself)
  for (const f of readdirSync(dir)) {
    const m = SIDECAR_RE.exec(f);
    if (m && BACKUP_RE.test(m[1]) && !existsSync(join(dir, m[1]))) rmSync(join(dir, f), { force: true });
  }
  // leftovers of interrupted backups; one being written right now by another backup (cron + a manual one) is young
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (!/\.db\.partial(-\d+)?$/.test(f) || p === tmp) continue;
    try { if (Date.now() - statSync(p).mtimeMs > STALE_PARTIAL_MS) rmSync(p, { force: true }); } catch { /* gone meanwhile */ }
  }
  return { file, removed };
}

/** True when a pibake-im server process holds the data dir (its pid file names a live process). */
export function serverRunning(dataDir: string): number | null {
  try {
    const pid = Number(readFileSync(join(dataDir, 'pibake-im.pid'), 'utf8').trim());
    if (!pid) return null;
    process.kill(pid, 0);
    // a stale pid file after a crash may name an unrelated process: require it to be our server
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return /server\.mjs|server-main\.ts|pibake-im/.test(cmdline) ? pid : null;
  } catch { return null; }
}

export function checkDatabaseFile(file: string): string[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const problems = (db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check).filter((r) => r !== 'ok');
    for (const fk of db.pragma('foreign_key_check') as any[]) problems.push(`foreign key: ${fk.table} row ${fk.rowid} -> ${fk.parent}`);
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > MIGRATIONS.length) problems.push(`schema version ${version} is newer than this program (${MIGRATIONS.length})`);
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type='table'").pluck().all() as string[];
    if (!tables.includes('messages') || !tables.includes('users')) problems.push('not a pibake-im database (no users/messages tables)');
    return problems;
  } finally { db.close(); }
}

/**
 * The restored database hands out ids above every id the replaced one had handed out: clients keep cursors
 * (message ids) from after the backup, and a reused id below such a cursor would never reach them.
 */
function carryRetiredIds(current: string, restored: string): void {
  if (!existsSync(current)) return;
  const tables = ['users', 'conversations', 'messages'] as const;
  const hasMeta = (db: Database.Database) => !!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get();
  const old = new Database(current, { readonly: true, fileMustExist: true });
  let highest: Map<string, number>;
  try {
    if (!hasMeta(old)) return;
    highest = new Map(tables.map((t) => [t, old.prepare(`SELECT ${nextIdSql(t)} - 1`).pluck().get() as number]));
  } finally { old.close(); }
  const db = new Database(restored, { fileMustExist: true });
  try {
    if (!hasMeta(db)) return; // a schema-1 backup: ids restart from its own (its migration makes the meta table)
    const retire = db.prepare(RETIRE_SQL);
    db.transaction(() => { for (const t of tables) retire.run(`${t}_retired_max`, highest.get(t)); })();
  } finally { db.close(); }
}

export function restoreFrom(file: string, dataDir: string): void {
  if (!existsSync(file)) throw new Error(`${file} does not exist`);
  if (!statSync(file).isFile()) throw new Error(`${file} is not a file — fix: give a backup file (pibake-im-YYYYMMDDTHHMMSSmmmZ.db)`);
  const target = dbPath(dataDir);
  const tmp = target + '.restore';
  // check the copy, never the backup itself: SQLite opening a WAL-mode file creates -wal and -shm next to it, and
  // read-only it cannot remove them again (they would be orphaned in the backups dir once retention prunes the file)
  copyFileSync(file, tmp);
  let problems: string[];
  try { problems = checkDatabaseFile(tmp); } catch (err: any) {
    rmSync(tmp, { force: true });
    if (err?.code === 'SQLITE_NOTADB') throw new Error(`${basename(file)} is not an SQLite database — fix: give a backup file the backup command wrote (pibake-im-YYYYMMDDTHHMMSSmmmZ.db)`);
    if (err?.code === 'SQLITE_CORRUPT') throw new Error(`${basename(file)} is damaged (${err.message}); the database was left as it was — fix: restore an older backup from the backup directory (backup.dir)`);
    throw err;
  } finally { removeSidecars(tmp); }
  if (problems.length) { rmSync(tmp, { force: true }); throw new Error(`${basename(file)} failed its check: ${problems[0]}`); }
  try { carryRetiredIds(target, tmp); } finally { removeSidecars(tmp); }
  fsyncPath(tmp);
  rmSync(target + '-wal', { force: true });
  rmSync(target + '-shm', { force: true });
  renameSync(tmp, target);
  fsyncPath(dataDir);
}
