// Finds the cached base an image was built from, through the <name>.manifest.json written next to it (for --compare-base).
import { existsSync, readFileSync } from 'node:fs';
import { cacheDir } from '../paths.ts';
import { VerifyError } from './errors.ts';
import { manifestNextTo } from './manifest-next-to.ts';

export function baseImageFromManifest(image: string): string {
  const { name, file: manifest } = manifestNextTo(image);
  const hint = 'pass the base explicitly (verifyImage({ baseImage }) / --base-image)';
  if (!existsSync(manifest)) throw new VerifyError('input', `no ${name} next to ${image} to find its base`, hint);
  const digest = (JSON.parse(readFileSync(manifest, 'utf8')) as { base?: { digest?: string } }).base?.digest ?? '';
  const [kind, key = ''] = digest.split(':');
  const candidate = kind === 'bootstrap' ? cacheDir('base', `bootstrap-${key.slice(0, 16)}`, 'base.img') : cacheDir('base', `image-${key.slice(0, 16)}`, 'base.img');
  if (!existsSync(candidate)) throw new VerifyError('input', `the base ${digest || '(unknown)'} of ${image} is not in the cache`, `${hint}, or rebuild so the base is cached`);
  return candidate;
}
