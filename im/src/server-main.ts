// Server entry point: reads the config, sizes the libuv threadpool BEFORE anything uses it, then starts the server.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { flushCompileCache, getCompileCacheDir } from 'node:module';
import { loadConfig, configPathFromArgs, ConfigError, DEFAULT_CONFIG_PATH } from './config.ts';
import { VERSION } from './version.ts';
import { limitConcurrentHashing } from './password.ts';

function webDir(): string {
  if (process.env.PIBAKE_IM_WEB_DIR) return process.env.PIBAKE_IM_WEB_DIR;
  const here = import.meta.dirname;
  const candidates = [join(here, '..', 'web'), join(here, '..', 'dist', 'web')];
  return candidates.find((d) => existsSync(join(d, 'app.js'))) ?? candidates[0];
}

async function main(): Promise<void> {
  process.umask(0o027); // database, backups and logs are private to the service user (and its group)
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`usage: pibake-im [--config FILE] [--check-config]   (default ${DEFAULT_CONFIG_PATH}, or $PIBAKE_IM_CONFIG)\nthe chat server; --check-config only validates the config (exit 0, or 2 with the problem); see README.md next to bin/ for the config keys\n`);
    process.exit(0);
  }
  if (argv.includes('--version')) { process.stdout.write(`pibake-im ${VERSION}\n`); process.exit(0); }
  const checkOnly = argv.includes('--check-config');
  const unknown = argv.find((a, i) => a.startsWith('-') && a !== '--config' && a !== '--check-config' && !a.startsWith('--config=') && argv[i - 1] !== '--config');
  if (unknown) { process.stderr.write(`pibake-im: unknown option ${unknown} — fix: the options are --config FILE and --check-config\n`); process.exit(2); }
  let config;
  try {
    const file = configPathFromArgs(argv, process.env);
    config = loadConfig(file);
    if (checkOnly) { process.stdout.write(`pibake-im: ${file}: config ok\n`); process.exit(0); }
  } catch (err) {
    if (err instanceof ConfigError) { process.stderr.write(`pibake-im: ${err.message}\n`); process.exit(2); }
    throw err;
  }
  // libuv reads UV_THREADPOOL_SIZE when its pool starts, on first use (scrypt, async fs); nothing has used it yet.
  process.env.UV_THREADPOOL_SIZE = String(config.threading.max_threads);
  limitConcurrentHashing(config.threading.max_threads - 1);
  const { startServer } = await import('./server.ts');
  const web = webDir();
  if (!existsSync(join(web, 'app.js'))) process.stderr.write(`pibake-im: the web client is not built (no ${join(web, 'app.js')}): / will not work — fix: npm run build:web in im/\n`);
  let server;
  try {
    server = await startServer(config, web);
  } catch (err: any) {
    const fix = err?.code === 'EADDRINUSE' ? ' — fix: stop what listens there, or set listen.port to a free port' : err?.code === 'EACCES' ? ' — fix: use a port above 1023, or run with CAP_NET_BIND_SERVICE' : '';
    process.stderr.write(`pibake-im: cannot start: ${err?.message ?? err}${fix}\n`);
    process.exit(1);
  }
  // with NODE_COMPILE_CACHE (the wrapper sets it from systemd's CacheDirectory=), write the V8 code cache once the
  // startup and first-login paths have been compiled, instead of only at a clean exit
  if (getCompileCacheDir()) setTimeout(() => flushCompileCache(), 15000).unref();
  const stop = (signal: string) => {
    server.ctx.log.info('shutting down', { signal });
    server.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => server.ctx.access.flush());
}

main();
