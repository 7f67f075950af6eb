// Builds the self-contained /opt/pibake-im directory: pinned Node runtime, esbuild bundles, SQLite addon, web client, sh wrappers.
// usage: scripts/node24 im/scripts/build-bundle.mjs --arch arm64|x64 --out <dir>
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, copyFileSync, writeFileSync, readFileSync, existsSync, readdirSync, statSync, chmodSync, utimesSync, mkdtempSync } from 'node:fs';
import { join, resolve, relative } from 'node:path';
import { tmpdir } from 'node:os';
import { buildWeb, IM_DIR } from './web-build.mjs';

const NODE_VERSION = '24.22.3';
const EPOCH = new Date('2000-01-01T00:00:00Z');

function fail(msg) { process.stderr.write(`build-bundle: ${msg}\n`); process.exit(2); }

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--arch') out.arch = argv[++i];
    else if (argv[i] === '--out') out.out = argv[++i];
    else if (argv[i] === '--cache') out.cache = argv[++i];
    else fail(`unknown argument ${argv[i]} — usage: build-bundle.mjs --arch arm64|x64 --out <dir> [--cache <dir>]`);
  }
  if (out.arch !== 'arm64' && out.arch !== 'x64') fail('--arch must be arm64 or x64');
  if (!out.out) fail('--out <dir> is required');
  return out;
}

const sha = (algo, file, enc = 'hex') => createHash(algo).update(readFileSync(file)).digest(enc);

/** Fetches node-linux-<arch>@NODE_VERSION with npm pack into the cache and checks its sha512 against the registry's integrity. */
function fetchNode(arch, cacheDir) {
  const pkg = `node-linux-${arch}`;
  mkdirSync(cacheDir, { recursive: true });
  const tgz = join(cacheDir, `${pkg}-${NODE_VERSION}.tgz`);
  const integrityFile = tgz + '.integrity';
  if (!existsSync(tgz) || !existsSync(integrityFile)) {
    const json = execFileSync('npm', ['pack', `${pkg}@${NODE_VERSION}`, '--json', '--pack-destination', cacheDir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const info = JSON.parse(json)[0];
    const registry = execFileSync('npm', ['view', `${pkg}@${NODE_VERSION}`, 'dist.integrity'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
    if (registry !== info.integrity) { rmSync(join(cacheDir, info.filename), { force: true }); fail(`${pkg}@${NODE_VERSION}: downloaded integrity ${info.integrity} differs from the registry's ${registry}`); }
    writeFileSync(integrityFile, registry + '\n');
  }
  const integrity = readFileSync(integrityFile, 'utf8').trim();
  const actual = 'sha512-' + sha('sha512', tgz, 'base64');
  if (actual !== integrity) { rmSync(tgz); rmSync(integrityFile); fail(`${tgz} does not match the registry integrity ${integrity}; run again to refetch`); }
  return { pkg, tgz, integrity };
}

/** esbuild plugin: the SQLite addon require becomes require('./better_sqlite3.node') next to the bundle. */
const nativeAddon = {
  name: 'native-addon',
  setup(b) {
    b.onResolve({ filter: /\.node$/ }, () => ({ path: './better_sqlite3.node', external: true }));
  },
};

/**
 * esbuild plugin: builtins the server never uses at run time stop costing startup. ws loads https, tls and zlib
 * for its client side and permessage-deflate (both unused: the server only accepts, deflate is off): they become
 * proxies that load the real module on first use. prom-client checks `cluster.isMaster` at load (its cluster
 * aggregator is unused), which pulls in cluster, child_process, dgram and dns: it sees a non-clustered process.
 */
const leanBuiltins = {
  name: 'lean-builtins',
  setup(b) {
    b.onResolve({ filter: /^(https|tls|zlib|cluster)$/ }, (a) => ({ path: a.path, namespace: 'lean-builtin' }));
    b.onLoad({ filter: /.*/, namespace: 'lean-builtin' }, (a) => ({
      loader: 'js',
      contents: a.path === 'cluster'
        ? 'module.exports = { isMaster: false, isPrimary: false, isWorker: false, workers: {}, on() {} };'
        : `let m; module.exports = new Proxy({}, { get(_, k) { m ??= require('node:${a.path}'); return m[k]; } });`,
    }));
  },
};

async function bundleJs(entry, outfile, arch, lean = false) {
  await build({
    entryPoints: [join(IM_DIR, entry)], outfile, absWorkingDir: IM_DIR, bundle: true, platform: 'node', format: 'esm', target: 'node24',
    alias: { 'better-sqlite3': `better-sqlite3/${`linux-${arch}`}` },
    external: ['bufferutil', 'utf-8-validate'],
    plugins: lean ? [nativeAddon, leanBuiltins] : [nativeAddon], legalComments: 'none', logLevel: 'error', minify: true, // smaller source = faster startup parse
    banner: { js: "import { createRequire as __pibakeCreateRequire } from 'node:module'; const require = __pibakeCreateRequire(import.meta.url);" },
  });
}

// a 1 MiB young generation: the server's garbage is short-lived frames, so small semi-spaces mean cheap, frequent
// scavenges and ~1 MB less resident memory than V8's default (up to 16 MiB per semi-space on 64-bit)
const SERVER_NODE_FLAGS = '--max-semi-space-size=1 ';

const WRAPPER = (what, script, nodeFlags = '') => `#!/bin/sh
# ${what} with the Node runtime bundled next to this script.
# (no subprocess unless started through a symlink: each fork+exec costs milliseconds of a Pi's start)
if [ -L "$0" ]; then here=$(dirname "$(readlink -f "$0")"); else case $0 in */*) here=\${0%/*} ;; *) here=. ;; esac; fi
# V8 code cache of the bundle: systemd's CacheDirectory= when set, so every start after the first skips compiling
if [ -z "\${NODE_COMPILE_CACHE:-}" ] && [ -n "\${CACHE_DIRECTORY:-}" ]; then export NODE_COMPILE_CACHE="\${CACHE_DIRECTORY%%:*}/v8"; fi
# glibc: at most 2 malloc arenas and a fixed mmap threshold, so the 16 MiB scrypt buffers of the
# threadpool go back to the OS after each login instead of staying resident in per-thread arenas
export MALLOC_ARENA_MAX="\${MALLOC_ARENA_MAX:-2}" MALLOC_MMAP_THRESHOLD_="\${MALLOC_MMAP_THRESHOLD_:-131072}"
exec "$here/../node" ${nodeFlags}"$here/../lib/${script}" "$@"
`;

function walk(dir) {
  return readdirSync(dir).flatMap((f) => { const p = join(dir, f); return statSync(p).isDirectory() ? walk(p) : [p]; });
}

async function main() {
  const { arch, out: outArg, cache } = parseArgs(process.argv.slice(2));
  const out = resolve(outArg);
  const cacheDir = resolve(cache ?? join(IM_DIR, '.cache/node'));
  const node = fetchNode(arch, cacheDir);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, 'lib'), { recursive: true });
  mkdirSync(join(out, 'bin'), { recursive: true });

  const tmp = mkdtempSync(join(tmpdir(), 'pibake-im-node-'));
  execFileSync('tar', ['-xzf', node.tgz, '-C', tmp, 'package/bin/node']);
  copyFileSync(join(tmp, 'package/bin/node'), join(out, 'node'));
  chmodSync(join(out, 'node'), 0o755);
  rmSync(tmp, { recursive: true, force: true });

  await bundleJs('src/server-main.ts', join(out, 'lib/server.mjs'), arch, true);
  await bundleJs('src/admin-main.ts', join(out, 'lib/admin.mjs'), arch);
  const addonSrc = join(IM_DIR, `node_modules/better-sqlite3/prebuilds/linux-${arch}.node`);
  copyFileSync(addonSrc, join(out, 'lib/better_sqlite3.node'));
  await buildWeb(join(out, 'web'));

  writeFileSync(join(out, 'bin/pibake-im'), WRAPPER('Starts the pibake-im chat server', 'server.mjs', SERVER_NODE_FLAGS));
  writeFileSync(join(out, 'bin/pibake-im-admin'), WRAPPER('Runs the pibake-im admin CLI', 'admin.mjs'));
  chmodSync(join(out, 'bin/pibake-im'), 0o755);
  chmodSync(join(out, 'bin/pibake-im-admin'), 0o755);
  copyFileSync(join(IM_DIR, 'README.md'), join(out, 'README.md'));

  const pkg = JSON.parse(readFileSync(join(IM_DIR, 'package.json'), 'utf8'));
  const sqlitePkg = JSON.parse(readFileSync(join(IM_DIR, 'node_modules/better-sqlite3/package.json'), 'utf8'));
  const files = {};
  for (const f of walk(out).sort()) files[relative(out, f)] = sha('sha256', f);
  const manifest = {
    name: 'pibake-im', version: pkg.version, arch, platform: 'linux-gnu',
    node: { package: node.pkg, version: NODE_VERSION, integrity: node.integrity, sha256: files['node'] },
    addon: { package: 'better-sqlite3', version: sqlitePkg.version, file: 'lib/better_sqlite3.node', sha256: files['lib/better_sqlite3.node'] },
    entry: { server: 'bin/pibake-im', admin: 'bin/pibake-im-admin' },
    files,
  };
  writeFileSync(join(out, 'BUNDLE.json'), JSON.stringify(manifest, null, 2) + '\n');
  for (const f of [...walk(out), join(out, 'lib'), join(out, 'bin'), join(out, 'web'), out]) utimesSync(f, EPOCH, EPOCH);
  console.log(`pibake-im ${pkg.version} bundle for linux-${arch} in ${out}`);
}

main().catch((err) => fail(err?.message ?? String(err)));
