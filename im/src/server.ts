// Composes the chat server: database, group commit, HTTP + WebSocket on one port, limits, and graceful shutdown.
import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import type { Config } from './config.ts';
import { openDatabase, dbPath, SERVER_BUSY_TIMEOUT_MS } from './db.ts';
import { acquireInstanceLock } from './instance-lock.ts';
import { makeDirs } from './make-dirs.ts';
import { serverRunning } from './backup.ts';
import { WalSync } from './wal-sync.ts';
import { Store } from './store.ts';
import { CommitBatcher } from './commit-batcher.ts';
import { Hub, type Session } from './hub.ts';
import { createMetrics } from './metrics.ts';
import { createLogger } from './logger.ts';
import { AccessLog } from './access-log.ts';
import { onFrame, sendError, announcePresence, type Ctx } from './ws-handlers.ts';
import { httpHandler } from './http-api.ts';
import { pushExternalConvChanges } from './admin-changes.ts';

// require() rather than an ESM import: building the ESM facade of node:http evaluates its lazy exports,
// which loads the whole undici fetch/WebSocket stack (~30 ms of startup on x64, far more on a Pi)
const { createServer } = createRequire(import.meta.url)('node:http') as typeof import('node:http');

export interface RunningServer { http: Server; ctx: Ctx; port: number; close(): Promise<void> }

const AUTH_GRACE_MS = 15000;
/** Reading stops while more than this many full batches of writes are queued. */
const PAUSE_AT_BATCHES = 4;
/** Connections that have not authenticated yet: at most this share of max_connections (and at least 16). */
const UNAUTHENTICATED_SHARE = 8;

export async function startServer(config: Config, webDir: string): Promise<RunningServer> {
  const log = createLogger(config.logging.level);
  const access = new AccessLog(config.log_dir, (m) => log.warn(m));
  makeDirs(config.data_dir);
  const maybeLock = acquireInstanceLock(config.data_dir);
  if (!maybeLock) {
    const pid = serverRunning(config.data_dir);
    throw new Error(`another pibake-im${pid ? ` (pid ${pid})` : ''} is using data_dir ${config.data_dir}; stop it first (two servers on one database would lose messages)`);
  }
  const lock = maybeLock;
  const db = openDatabase(config.data_dir, { serverSyncsWal: true });
  const wal = new WalSync(dbPath(config.data_dir));
  const store = new Store(db);
  const metrics = createMetrics();
  let nextId = 1;
  let connections = 0;
  const sessions = new Set<Session>();
  // Backpressure: when more writes wait than a few batches hold (the CPU cannot keep up), stop reading from every
  // client until one batch is left, so an overload is held in the clients' TCP buffers, not in this process's memory.
  const maxUnauthenticated = Math.max(16, Math.floor(config.limits.max_connections / UNAUTHENTICATED_SHARE));
  let readingPaused = false;
  function setReading(paused: boolean): void {
    readingPaused = paused;
    for (const s of sessions) if (paused) s.ws.pause(); else s.ws.resume();
    if (paused) metrics.readPauses.inc();
  }
  const batcher = new CommitBatcher(db, {
    windowMs: config.storage.commit_window_ms,
    maxBatch: config.storage.max_batch,
    sync: () => wal.sync(),
    onBatch: ({ size, seconds, sqlSeconds }) => {
      metrics.batchSize.observe(size); metrics.commit.observe(seconds); metrics.commitSql.observe(sqlSeconds);
      if (readingPaused && batcher.pending <= config.storage.max_batch) setReading(false);
    },
    onDurable: () => store.messages.markDurable(),
    onRollback: () => store.messages.rollback(),
    onBusy: () => metrics.commitBusy.inc(),
    onSyncFailure: (err: any) => {
      // after a failed fsync the kernel may have dropped the dirty pages: nothing committed since is trustworthy
      log.error('fdatasync of the WAL failed; exiting so that nothing unsynced is acknowledged', { error: String(err?.message ?? err) });
      process.exit(70);
    },
  });
  // resend keys and tail hints are indexed in bulk (message-log.ts flush); checked every second
  const hintFlusher = setInterval(() => {
    if (store.messages.flushDue()) batcher.run(() => store.messages.flush()).catch((err) => log.warn('index flush failed; retried with the next one', { error: String(err?.message ?? err) }));
  }, 1000);
  hintFlusher.unref();
  const hub = new Hub(config.limits.max_buffered_bytes);
  const ctx: Ctx = { config, store, batcher, hub, metrics, log, access };

  if (config.bootstrap_admin && !store.userByName(config.bootstrap_admin.name)) {
    store.addUser(config.bootstrap_admin.name, config.bootstrap_admin.password_hash, true);
    log.info('created bootstrap admin', { user: config.bootstrap_admin.name });
    access.record('bootstrap_admin', { user: config.bootstrap_admin.name });
  }
  store.purgeExpiredTokens();
  // startup (migration, bootstrap admin) may wait for an admin CLI's write; from here on the event loop must not
  db.pragma(`busy_timeout = ${SERVER_BUSY_TIMEOUT_MS}`);

  const handle = httpHandler(ctx, webDir); // its inFlight: a login under way at SIGTERM still gets its answer
  const http = createServer(handle);
  http.keepAliveTimeout = 65000; // longer than clients' idle reuse, so a reused socket is never closed under them
  const wss = new WebSocketServer({ noServer: true, maxPayload: Math.max(config.limits.max_frame_bytes * 4, 64 * 1024), perMessageDeflate: false });

  http.on('upgrade', (req, socket, head) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/ws') { socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n'); return; }
    const ip = req.socket.remoteAddress ?? '?';
    wss.handleUpgrade(req, socket, head, (ws) => accept(ws, ip));
  });

  // a function of its own so that the per-connection closures below do not keep the upgrade request alive
  function accept(ws: import('ws').WebSocket, ip: string): void {
    const now = Date.now();
    const s: Session = { id: nextId++, ws, ip, user: null, tokenHash: null, live: false,
      tokens: config.limits.message_burst, lastRefill: now, lastActive: now };
    if (connections >= config.limits.max_connections) {
      sendError(ctx, s, 'too_many_connections', `the server has reached ${config.limits.max_connections} connections; try again later`);
      ws.close(1013, 'too many connections');
      return;
    }
    // sockets that have not sent auth yet hold only a share of the slots: when it is full, the oldest of them
    // makes room (a real client authenticates within milliseconds; a silent one cannot keep the server full)
    if (connections - hub.sessions >= maxUnauthenticated) {
      for (const o of sessions) if (!o.user) { sendError(ctx, o, 'too_many_connections', 'too many connections waiting to authenticate'); o.ws.close(1013, 'auth too late'); break; }
    }
    connections++;
    sessions.add(s);
    metrics.connections.set(connections);
    const authTimer = setTimeout(() => { if (!s.user) ws.close(4000, 'no auth frame'); }, AUTH_GRACE_MS);
    if (readingPaused) ws.pause();
    ws.on('message', (data, isBinary) => {
      onFrame(ctx, s, data as Buffer, isBinary);
      if (!readingPaused && batcher.pending > PAUSE_AT_BATCHES * config.storage.max_batch) setReading(true);
    });
    ws.on('pong', () => { s.lastActive = Date.now(); });
    ws.on('error', () => {});
    ws.on('close', () => {
      clearTimeout(authTimer);
      sessions.delete(s);
      connections--;
      metrics.connections.set(connections);
      if (s.user) {
        access.record('disconnect', { user: s.user.name, ip: s.ip });
        if (hub.remove(s)) { metrics.online.set(hub.onlineUsers()); if (!closing) announcePresence(ctx, s.user, false); }
      }
    });
  }

  const pinger = setInterval(() => {
    const deadline = Date.now() - config.limits.idle_timeout_seconds * 1000;
    for (const s of sessions) {
      if (s.lastActive < deadline) { s.ws.terminate(); continue; }
      s.ws.ping();
    }
  }, config.limits.ping_interval_seconds * 1000);
  pinger.unref();

  // Sessions whose token is gone — revoked by the admin CLI (users passwd / remove: another process), or
  // expired — are closed like a logout: checked when another process committed, and once a minute anyway; what
  // another process changed in conversations is pushed to their members (admin-changes.ts).
  let seenVersion = store.externalVersion();
  let lastSweep = Date.now();
  const tokenSweeper = setInterval(() => {
    const v = store.externalVersion();
    if (v === seenVersion && Date.now() - lastSweep < 60000) return;
    const external = v !== seenVersion;
    seenVersion = v; lastSweep = Date.now();
    for (const s of sessions) if (s.user && s.tokenHash && !store.userForTokenHash(s.tokenHash)) s.ws.close(4001, 'token revoked or expired');
    if (external) pushExternalConvChanges(ctx, sessions);
  }, 2000);
  tokenSweeper.unref();

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.listen.port, config.listen.address, () => resolve());
  });
  const addr = http.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.listen.port;
  const pidFile = join(config.data_dir, 'pibake-im.pid');
  writeFileSync(pidFile, `${process.pid}\n`);
  log.info('listening', { address: config.listen.address, port, data_dir: config.data_dir, max_threads: process.env.UV_THREADPOOL_SIZE ?? '4' });

  let closing = false;
  async function close(): Promise<void> {
    if (closing) return;
    closing = true;
    clearInterval(pinger);
    clearInterval(tokenSweeper);
    clearInterval(hintFlusher);
    http.close();
    http.closeIdleConnections();
    for (const ws of wss.clients) ws.close(1001, 'server shutting down');
    for (const until = Date.now() + 3000; handle.inFlight > 0 && Date.now() < until;) await new Promise((r) => setTimeout(r, 20));
    const now = Date.now();
    const lastSeen = hub.all().filter((s) => s.user).map((s) => s.user!.id);
    batcher.run(() => { for (const id of lastSeen) store.setLastSeen(id, now); store.messages.flush(); }).catch(() => {});
    await batcher.close();
    wal.close();
    db.close();
    access.flush();
    rmSync(pidFile, { force: true }); // ours: this process holds the data dir's lock
    lock.release();
    http.closeAllConnections();
    log.info('stopped');
  }
  return { http, ctx, port, close };
}
