// Builds (and caches by source hash) the pibake-im arm64 bundle that the im-server stage installs under /opt.
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { hostExec } from '../host/exec.ts';
import { sha256Tree } from '../host/hash.ts';
import { cacheDir, projectRoot } from '../paths.ts';
import type { Reporter } from '../reporter.ts';

const imDir = path.join(projectRoot, 'im');
const node24 = path.join(projectRoot, 'scripts', 'node24');

export function imBundleKey(arch: string): string {
  const roots = ['src', 'scripts', 'web', 'package.json', 'package-lock.json'].map((p) => path.join(imDir, p)).filter(existsSync);
  return `${arch}-${sha256Tree(roots, imDir).slice(0, 16)}`;
}

export async function ensureImBundle(arch: 'arm64' | 'x64', reporter: Reporter): Promise<string> {
  if (process.env.PIBAKE_IM_BUNDLE) return path.resolve(process.env.PIBAKE_IM_BUNDLE);
  const dir = cacheDir('artifacts', `im-bundle-${imBundleKey(arch)}`);
  if (existsSync(path.join(dir, 'BUNDLE.json'))) {
    reporter.debug(`im bundle cached: ${dir}`);
    return dir;
  }
  const step = reporter.step(`build the pibake-im ${arch} bundle`);
  if (!existsSync(path.join(imDir, 'node_modules'))) await hostExec(['npm', 'ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: imDir });
  mkdirSync(path.dirname(dir), { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    await hostExec([node24, path.join(imDir, 'scripts', 'build-bundle.mjs'), '--arch', arch, '--out', tmp], { cwd: imDir });
    renameSync(tmp, dir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    step.fail();
    throw e;
  }
  step.done();
  return dir;
}
