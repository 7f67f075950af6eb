// Base source `bootstrap`: a Debian arm64 image in the Pi OS Lite layout, built in the builder container, cached by key.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { canonicalJson } from '../definition/load.ts';
import type { BaseSpec } from '../definition/schema.ts';
import { hostDebianMirror, hostSecurityMirror } from '../host/mirror.ts';
import { cacheDir, projectRoot } from '../paths.ts';
import { startBuildContainer } from '../container/build-container.ts';
import { fillCacheDir } from '../host/cache-entry.ts';
import type { BaseContext, ResolvedBase } from './resolve.ts';

const scriptDir = path.join(projectRoot, 'builder', 'base');

type BootstrapSpec = NonNullable<BaseSpec['bootstrap']>;

/** The archives a bootstrap reads: the mirror and its security archive (if any), each from the definition or the host. */
export function bootstrapMirrors(spec: BootstrapSpec): { mirror: string; security?: string } {
  const mirror = spec.mirror ?? hostDebianMirror();
  const security = spec.security_mirror === 'none' ? undefined : (spec.security_mirror ?? hostSecurityMirror(mirror));
  return { mirror, security };
}

export function bootstrapKey(spec: BootstrapSpec, mirrors: { mirror: string; security?: string }): string {
  const h = createHash('sha256');
  h.update(canonicalJson({ ...spec, mirror: mirrors.mirror, security_mirror: mirrors.security ?? 'none' }));
  for (const f of ['bootstrap-debian.sh']) h.update(readFileSync(path.join(scriptDir, f)));
  return h.digest('hex');
}

/** Where a cached bootstrap base lives (for plan: no Docker, no root). */
export function bootstrapCachePath(spec: BootstrapSpec, mirrors = bootstrapMirrors(spec)): { dir: string; key: string } {
  const key = bootstrapKey(spec, mirrors);
  return { dir: cacheDir('base', `bootstrap-${key.slice(0, 16)}`), key };
}

/** base.json of a cached bootstrap, with the archives it was made from (the manifest's record of its sources). */
function baseInfo(dir: string, mirror: string, security: string | undefined): Record<string, unknown> {
  return { ...JSON.parse(readFileSync(path.join(dir, 'base.json'), 'utf8')), sources: { mirror, security_mirror: security ?? 'none' } };
}

export async function bootstrapBase(spec: BootstrapSpec, bc: BaseContext): Promise<ResolvedBase> {
  const mirrors = bootstrapMirrors(spec); // the host's apt sources, read once
  const { mirror, security } = mirrors;
  const { dir, key } = bootstrapCachePath(spec, mirrors);
  const image = path.join(dir, 'base.img');
  if (existsSync(image) && existsSync(path.join(dir, 'base.json'))) {
    bc.reporter.info(`base: cached bootstrap ${path.basename(dir)} (key ${key.slice(0, 12)})`);
    return { image, digest: `bootstrap:${key}`, kind: 'bootstrap', info: baseInfo(dir, mirror, security) };
  }
  bc.reporter.info(`base: no cached bootstrap for key ${key.slice(0, 12)} (suite, mirror, packages or script changed, or first build)`);
  await fillCacheDir(dir, `bootstrap Debian ${spec.suite} arm64 in the Raspberry Pi OS Lite layout`, bc.reporter, bc.cleanups, async (tmp) => {
    const c = await startBuildContainer(
      bc.builderImage,
      [
        { host: tmp, container: '/out' },
        { host: scriptDir, container: '/scripts', readOnly: true },
      ],
      bc.cleanups,
      { name: `pibake-bootstrap-${process.pid}-${Date.now()}`, debug: bc.reporter.debug },
    );
    const argv = ['/scripts/bootstrap-debian.sh', '--suite', spec.suite, '--mirror', mirror, '--out', '/out/base.img', '--work', '/out/work', '--hostname', spec.hostname];
    if (security) argv.push('--security-mirror', security);
    if (spec.extra_packages.length) argv.push('--extra-packages', spec.extra_packages.join(' '));
    let pending = '';
    try {
      await c.exec(argv, {
        onStderr: (chunk) => {
          pending += chunk;
          const lines = pending.split('\n');
          pending = lines.pop()!;
          for (const l of lines) if (l.trim()) bc.reporter.debug(l);
        },
        hint: 'the bootstrap needs the Debian archive; run with --verbose to see its log',
      });
    } finally {
      await c.remove();
    }
    rmSync(path.join(tmp, 'work'), { recursive: true, force: true });
  });
  return { image, digest: `bootstrap:${key}`, kind: 'bootstrap', info: baseInfo(dir, mirror, security) };
}
