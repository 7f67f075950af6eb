// Admin CLI (pibake-im-admin): users, invites, groups, backup/restore/check, hash-password.
import { readSync, statSync, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadConfig, configPathFromArgs, ConfigError, type Config } from './config.ts';
import { openDatabase } from './db.ts';
import { Store, NAME_RE, groupNameProblem } from './store.ts';
import { hashPassword } from './password.ts';
import { AccessLog } from './access-log.ts';
import { backupTo, restoreFrom, checkDatabaseFile, serverRunning } from './backup.ts';
import { dbPath } from './db.ts';
import { VERSION } from './version.ts';
import { acquireInstanceLock } from './instance-lock.ts';
import { makeDirs } from './make-dirs.ts';

const USAGE = `usage: pibake-im-admin [--config FILE] COMMAND
  hash-password                      read a password on stdin, print its hash (for bootstrap_admin.password_hash)
  users list | add NAME [--admin] | passwd NAME | remove NAME [--force]   (passwords are read from stdin)
  invites create [--days N] | list
  groups list | create NAME [USER...] | add GROUP USER | remove GROUP USER | rename GROUP NEWNAME | delete GROUP
  backup [DIR]                       online backup into DIR (default backup.dir), keeps backup.retention files
  restore FILE                       replace the database with FILE (stop the service first)
  check                              integrity check of the database`;

/** The command line (or stdin) is wrong: exit 2, nothing was changed. */
class UsageError extends Error {}
/** A well-formed command that cannot be done in this state (no such user, name taken, ...): exit 1. */
class Failure extends Error {}

function readPassword(): string {
  // at most a little over what any password may be: a file piped in by mistake is refused, not read whole
  const buf = Buffer.alloc(8192);
  let got = 0;
  for (;;) {
    let n = 0;
    try { n = readSync(0, buf, got, buf.length - got, null); } catch (err: any) {
      if (err?.code !== 'EAGAIN') break; // no stdin at all
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10); // a non-blocking pipe still filling
      continue;
    }
    if (n === 0) break;
    got += n;
    if (got === buf.length) throw new UsageError('the password on stdin is longer than 8 KiB; logins take at most 1024 characters — fix: give the password, one line');
  }
  const text = buf.subarray(0, got).toString('utf8');
  const pw = text.replace(/\r?\n$/, '');
  if (!pw) throw new UsageError('no password on stdin — fix: echo "secret" | pibake-im-admin ...');
  if (/[\r\n]/.test(pw)) throw new UsageError('the password on stdin has several lines — fix: give it as one line (echo "secret" | pibake-im-admin ...)');
  // the server's login takes 1-1024 characters: a longer one would make an account nobody can log in to
  if (pw.length > 1024) throw new UsageError(`the password on stdin has ${pw.length} characters; logins take at most 1024 — fix: use a shorter one`);
  return pw;
}

/** When run as root, become the owner of the data dir so no root-owned file appears in it. */
function dropPrivileges(config: Config): void {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return;
  for (const dir of [config.data_dir, config.backup.dir]) {
    if (!existsSync(dir)) continue;
    const st = statSync(dir);
    if (st.uid === 0) return;
    process.setgroups?.([st.gid]);
    process.setgid!(st.gid);
    process.setuid!(st.uid);
    return;
  }
}

function need(args: string[], n: number, what: string): void {
  if (args.length < n) throw new UsageError(`missing ${what}`);
}

/** Every command's positional arguments (at most `max`) and options (true: takes a value). */
const SHAPES: Record<string, { max: number; options?: Record<string, boolean> }> = {
  'hash-password': { max: 0 }, check: { max: 0 }, restore: { max: 1 }, backup: { max: 1 },
  'users list': { max: 0 }, 'users add': { max: 1, options: { '--admin': false } }, 'users passwd': { max: 1 },
  'users remove': { max: 1, options: { '--force': false } },
  'invites create': { max: 0, options: { '--days': true } }, 'invites list': { max: 0 },
  'groups list': { max: 0 }, 'groups create': { max: Infinity }, 'groups add': { max: 2 }, 'groups remove': { max: 2 },
  'groups rename': { max: 2 }, 'groups delete': { max: 1 },
};

/** Splits a known command's arguments into positionals and options; an unknown option or an extra argument is a
 *  usage error (a typo like --adminn must not quietly do something else). Unknown commands pass through. */
function parseArgs(cmd: string, words: string[]): { rest: string[]; options: Map<string, string> } {
  const shape = SHAPES[cmd];
  const rest: string[] = [], options = new Map<string, string>();
  let onlyArgs = false; // after "--" everything is an argument (a group name may start with -)
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w === '--' && !onlyArgs && shape) { onlyArgs = true; continue; }
    if (!shape || onlyArgs || !w.startsWith('--')) { rest.push(w); continue; }
    const [name, inline] = w.includes('=') ? [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)] : [w, undefined];
    if (!(name in (shape.options ?? {}))) throw new UsageError(`${cmd}: unknown option ${name}${shape.options ? ` (it takes ${Object.keys(shape.options).join(', ')})` : ''}`);
    if (options.has(name)) throw new UsageError(`${cmd}: ${name} is given twice`);
    const takesValue = shape.options![name];
    if (!takesValue && inline !== undefined) throw new UsageError(`${cmd}: ${name} takes no value`);
    if (takesValue && inline === undefined && i + 1 >= words.length) throw new UsageError(`${cmd}: ${name} needs a value`);
    options.set(name, takesValue ? inline ?? words[++i] : '');
  }
  if (shape && rest.length > shape.max) throw new UsageError(`${cmd}: unexpected argument ${JSON.stringify(rest[shape.max])}\n${USAGE}`);
  return { rest, options };
}

async function run(argv: string[]): Promise<number> {
  process.umask(0o027);
  const args = argv.filter((a, i) => a !== '--config' && argv[i - 1] !== '--config' && !a.startsWith('--config='));
  const [cmd, sub] = args;
  if (!cmd || cmd === 'help' || args.includes('--help') || args.includes('-h')) { console.log(USAGE); return cmd ? 0 : 2; }
  const twoWords = ['users', 'invites', 'groups'].includes(cmd);
  const { rest, options } = parseArgs(twoWords ? `${cmd} ${sub ?? ''}`.trim() : cmd, args.slice(twoWords ? 2 : 1));
  if (cmd === '--version') { console.log(`pibake-im-admin ${VERSION}`); return 0; }
  if (cmd === 'hash-password') { console.log(await hashPassword(readPassword())); return 0; }

  const file = configPathFromArgs(argv, process.env);
  const config = loadConfig(file); // never on defaults: without its config the CLI would make and use a fresh data dir
  dropPrivileges(config);
  const audit = new AccessLog(config.log_dir, (msg) => process.stderr.write(`pibake-im-admin: warning: the audit record was not written: ${msg}\n`));
  const actor = process.env.SUDO_USER ?? process.env.USER ?? String(process.getuid?.());
  const record = (action: string, fields: Record<string, unknown> = {}) => { audit.record(`admin_${action}`, { by: actor, ...fields }); audit.flush(); };

  if (cmd === 'restore') {
    need(rest, 1, 'FILE');
    const backupFile = rest[0];
    // the data dir's instance lock, held through the restore: no server runs meanwhile, none starts mid-way
    makeDirs(config.data_dir);
    const lock = acquireInstanceLock(config.data_dir);
    if (!lock) {
      const pid = serverRunning(config.data_dir);
      throw new Failure(`the server is running${pid ? ` (pid ${pid})` : ''} — fix: stop it first (systemctl stop pibake-im), then restore`);
    }
    try { restoreFrom(backupFile, config.data_dir); } finally { lock.release(); }
    record('restore', { file: backupFile });
    console.log(`restored ${backupFile} into ${dbPath(config.data_dir)}`);
    return 0;
  }
  if (cmd === 'check') {
    if (!existsSync(dbPath(config.data_dir))) throw new Failure(`no database at ${dbPath(config.data_dir)}`);
    const problems = checkDatabaseFile(dbPath(config.data_dir));
    if (problems.length) { for (const p of problems) console.log(p); return 1; }
    console.log('ok');
    return 0;
  }

  const db = openDatabase(config.data_dir);
  const store = new Store(db);
  // writes of several statements: one short BEGIN IMMEDIATE transaction each (waits for the server's batch, never
  // holds the write lock across a password hash or other slow work)
  const tx = <T>(f: () => T): T => db.transaction(f).immediate();
  try {
    switch (twoWords ? `${cmd} ${sub ?? ''}`.trim() : cmd) {
      case 'users list':
        for (const u of store.listUsers()) console.log(`${u.name}${u.is_admin ? ' (admin)' : ''}\tlast seen ${u.last_seen ? new Date(u.last_seen).toISOString() : 'never'}`);
        return 0;
      case 'users add': {
        need(rest, 1, 'NAME');
        const name = rest[0];
        if (!NAME_RE.test(name)) throw new UsageError('NAME must be 1-32 characters from a-z 0-9 _ . -, not starting with - or .');
        if (store.userByName(name)) throw new Failure(`user ${name} already exists`);
        const hash = await hashPassword(readPassword());
        const isAdmin = options.has('--admin');
        try { store.addUser(name, hash, isAdmin); } catch (err: any) {
          if (err?.code === 'SQLITE_CONSTRAINT_UNIQUE') throw new Failure(`user ${name} already exists`); // added meanwhile by another admin
          throw err;
        }
        record('user_add', { user: name });
        console.log(`added user ${name}${isAdmin ? ' (admin)' : ''}`);
        return 0;
      }
      case 'users passwd': {
        need(rest, 1, 'NAME');
        const u = store.userByName(rest[0]);
        if (!u) throw new Failure(`no user ${rest[0]}`);
        const hash = await hashPassword(readPassword());
        tx(() => store.setPassword(u.id, hash));
        record('user_passwd', { user: u.name });
        console.log(`password of ${u.name} changed; their sessions must log in again`);
        return 0;
      }
      case 'users remove': {
        need(rest, 1, 'NAME');
        const u = store.userByName(rest[0]);
        if (!u) throw new Failure(`no user ${rest[0]}`);
        if (u.is_admin === 1 && !options.has('--force') && store.listUsers().filter((x) => x.is_admin === 1).length === 1)
          throw new Failure(`${u.name} is the last admin (only admins read /metrics) — fix: add another with users add NAME --admin first, or pass --force`);
        store.deleteUser(u.id);
        record('user_remove', { user: u.name });
        console.log(`removed user ${u.name}`);
        return 0;
      }
      case 'invites create': {
        const given = options.get('--days') ?? '7';
        const days = /^\d+$/.test(given) ? Number(given) : NaN;
        if (!(days >= 1 && days <= 365)) throw new UsageError('--days must be a number of days from 1 to 365 (an invite is a password: keep it short-lived)');
        const code = randomBytes(12).toString('base64url');
        store.addInvite(code, days * 86400_000);
        record('invite_create', { days });
        console.log(code);
        return 0;
      }
      case 'invites list':
        for (const i of store.listInvites() as any[]) console.log(`${i.id}\tcreated ${new Date(i.created_at).toISOString()}\t${i.used_at ? `used by ${i.used_by ?? 'a removed user'}` : Date.now() > i.expires_at ? 'expired' : `open until ${new Date(i.expires_at).toISOString()}`}`);
        return 0;
      case 'groups list':
        for (const g of store.listGroups()) console.log(`${g.id}\t${g.name}\t${g.members ?? ''}`);
        return 0;
      case 'groups create': {
        need(rest, 1, 'NAME');
        const bad = groupNameProblem(rest[0]);
        if (bad) throw new UsageError(`${bad}: ${JSON.stringify(rest[0])}`);
        const ids = rest.slice(1).map((n) => { const u = store.userByName(n); if (!u) throw new Failure(`no user ${n}`); return u.id; });
        const g = tx(() => store.createGroup(rest[0], ids));
        record('group_create', { group: rest[0] });
        console.log(`created group ${g.id} ${rest[0]}`);
        return 0;
      }
      case 'groups add': case 'groups remove': case 'groups rename': case 'groups delete': {
        need(rest, sub === 'delete' ? 1 : 2, sub === 'delete' ? 'GROUP' : sub === 'rename' ? 'GROUP NEWNAME' : 'GROUP USER');
        const named = /^\d+$/.test(rest[0]) ? [] : store.groupsByName(rest[0]);
        if (named.length > 1) throw new Failure(`${named.length} groups are named ${rest[0]} (ids ${named.map((n) => n.id).join(', ')}) — fix: give the group's id instead (groups list)`);
        const g = /^\d+$/.test(rest[0]) ? store.convById(Number(rest[0])) : named[0];
        if (!g || g.kind !== 'group') throw new Failure(`no group ${rest[0]}`);
        if (sub === 'rename') {
          const bad = groupNameProblem(rest[1]);
          if (bad) throw new UsageError(`${bad}: ${JSON.stringify(rest[1])}`);
          store.renameGroup(g.id, rest[1]);
        }
        else if (sub === 'delete') tx(() => store.deleteConv(g.id));
        else {
          const u = store.userByName(rest[1]);
          if (!u) throw new Failure(`no user ${rest[1]}`);
          if (sub === 'add') { if (!store.addMember(g.id, u.id)) { console.log(`${u.name} is already in group ${g.id} ${g.name}`); return 0; } }
          else if (!store.removeMember(g.id, u.id)) throw new Failure(`${u.name} is not in group ${g.id} ${g.name}`);
        }
        record(`group_${sub}`, { group: g.name, arg: rest[1] });
        console.log(sub === 'rename' ? `renamed group ${g.id} ${g.name} to ${rest[1]}` : sub === 'delete' ? `deleted group ${g.id} ${g.name}`
          : sub === 'add' ? `added ${rest[1]} to group ${g.id} ${g.name}` : `removed ${rest[1]} from group ${g.id} ${g.name}`);
        return 0;
      }
      case 'backup': {
        const dir = rest[0] ?? config.backup.dir;
        // only the backup dir itself is created: a missing parent is a typo or an unmounted disk, not a path to make
        const parent = dirname(resolve(dir));
        if (!existsSync(parent)) throw new Failure(`${parent} does not exist (parent of the backup dir ${dir}) — fix: create or mount it first`);
        const { file: out, removed } = await backupTo(db, dir, config.backup.retention);
        record('backup', { file: out });
        console.log(`backup written to ${out}${removed.length ? `; removed ${removed.length} old` : ''}`);
        return 0;
      }
    }
    if (['users', 'invites', 'groups'].includes(cmd) && !sub) throw new UsageError(`${cmd} needs a subcommand\n${USAGE}`);
    throw new UsageError(`unknown command "${args.join(' ')}"\n${USAGE}`);
  } finally {
    db.close();
  }
}

run(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err: any) => {
  const text = String(err?.message ?? err);
  const msg = err instanceof UsageError || err instanceof ConfigError || !err?.code || text.startsWith(err.code) ? text : `${err.code}: ${text}`;
  process.stderr.write(`pibake-im-admin: ${msg}\n`);
  process.exitCode = err instanceof UsageError || err instanceof ConfigError ? 2 : 1;
});
