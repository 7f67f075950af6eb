// Finds the definition an image was built from, through the <name>.manifest.json next to it (verify without --definition).
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadDefinition } from '../definition/load.ts';
import { manifestNextTo } from './manifest-next-to.ts';

export type FoundDefinition = { file: string; why: string } | { file?: undefined; why: string };

export function definitionFromManifest(image: string): FoundDefinition {
  const { name: manifestName, file: manifest } = manifestNextTo(image);
  if (!existsSync(manifest)) return { why: `no ${manifestName} next to the image names its definition` };
  let recorded: { file?: string; sha256?: string } | undefined;
  try {
    recorded = (JSON.parse(readFileSync(manifest, 'utf8')) as { definition?: { file?: string; sha256?: string } }).definition;
  } catch {
    return { why: `${manifestName} is not readable JSON` };
  }
  if (!recorded?.file) return { why: `${manifestName} names no definition` };
  const file = resolve(recorded.file);
  if (!existsSync(file)) return { why: `${recorded.file} (named by ${manifestName}, relative to where the build ran) is not here` };
  try {
    if (loadDefinition(file).hash !== recorded.sha256) return { why: `${recorded.file} changed since the image was built` };
  } catch {
    return { why: `${recorded.file} (named by ${manifestName}) no longer validates` };
  }
  return { file, why: `named by ${manifestName}` };
}
