// Finds the definition an image was built from, through the <name>.manifest.json next to it (verify without
// --definition), and tells when a --definition given is not that one.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadDefinition } from '../definition/load.ts';
import { manifestNextTo } from './manifest-next-to.ts';

export type FoundDefinition = { file: string; why: string } | { file?: undefined; why: string };

type Recorded = { file?: string; name?: string; sha256?: string } | undefined;

/** The definition entry of the manifest next to the image; 'unreadable' when it is there but not JSON. */
function recordedDefinition(image: string): { manifestName: string; exists: boolean; recorded: Recorded | 'unreadable' } {
  const { name: manifestName, file: manifest } = manifestNextTo(image);
  if (!existsSync(manifest)) return { manifestName, exists: false, recorded: undefined };
  try {
    return { manifestName, exists: true, recorded: (JSON.parse(readFileSync(manifest, 'utf8')) as { definition?: Recorded }).definition };
  } catch {
    return { manifestName, exists: true, recorded: 'unreadable' };
  }
}

export function definitionFromManifest(image: string): FoundDefinition {
  const { manifestName, exists, recorded } = recordedDefinition(image);
  if (!exists) return { why: `no ${manifestName} next to the image names its definition` };
  if (recorded === 'unreadable') return { why: `${manifestName} is not readable JSON` };
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

/** Why `definition` is not the one the manifest next to the image records (other content), or null (same, or unknown). */
export function definitionMismatch(image: string, definition: string): string | null {
  const { manifestName, recorded } = recordedDefinition(image);
  if (recorded === 'unreadable' || !recorded?.sha256) return null; // no manifest: nothing to compare with
  let hash: string;
  try { hash = loadDefinition(definition).hash; } catch { return null; } // verify itself reports a bad definition
  if (hash === recorded.sha256) return null;
  return `${manifestName} says the image was built from ${recorded.file ?? recorded.name} (definition sha256 ${recorded.sha256.slice(0, 12)}), not from ${definition} (${hash.slice(0, 12)})`;
}
