// verify's inputs: the definition found through the image's manifest (or a different one named), and --timeout
// checked before any work.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { definitionFromManifest, definitionMismatch } from '../../builder/verify/definition-locate.ts';
import { loadDefinition } from '../../builder/definition/load.ts';

describe('verify without --definition', () => {
  it('uses the definition the manifest names while it is unchanged, and says why not otherwise', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pibake-verify-def-'));
    try {
      const def = path.join(dir, 'im.yaml');
      copyFileSync('images/im-server.yaml', def);
      const image = path.join(dir, 'im-server.img.xz');
      expect(definitionFromManifest(image)).toEqual({ why: 'no im-server.manifest.json next to the image names its definition' });
      writeFileSync(path.join(dir, 'im-server.manifest.json'), JSON.stringify({ definition: { file: path.relative(process.cwd(), def), sha256: loadDefinition(def).hash } }));
      expect(definitionFromManifest(image)).toEqual({ file: def, why: 'named by im-server.manifest.json' });
      appendFileSync(def, '# a comment changes nothing\n');
      expect(definitionFromManifest(image).file).toBe(def);
      writeFileSync(def, readFileSync('images/im-server.yaml', 'utf8').replace('name: im-server', 'name: im-other'));
      expect(definitionFromManifest(image)).toEqual({ why: `${path.relative(process.cwd(), def)} changed since the image was built` });
      rmSync(def);
      expect(definitionFromManifest(image).why).toMatch(/im\.yaml \(named by im-server\.manifest\.json, relative to where the build ran\) is not here$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('a --definition other than the one the image was built from is named, with both digests', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pibake-verify-mis-'));
    try {
      const built = path.join(dir, 'built.yaml'), other = path.join(dir, 'other.yaml');
      copyFileSync('images/im-server.yaml', built);
      writeFileSync(other, readFileSync('images/im-server.yaml', 'utf8').replace('name: im-server', 'name: im-other'));
      const image = path.join(dir, 'im-server.img.xz');
      expect(definitionMismatch(image, other)).toBeNull(); // no manifest: nothing to compare with
      const hash = loadDefinition(built).hash;
      writeFileSync(path.join(dir, 'im-server.manifest.json'), JSON.stringify({ definition: { file: 'x/built.yaml', name: 'im-server', sha256: hash } }));
      expect(definitionMismatch(image, built)).toBeNull();
      expect(definitionMismatch(image, other)).toBe(`im-server.manifest.json says the image was built from x/built.yaml (definition sha256 ${hash.slice(0, 12)}), not from ${other} (${loadDefinition(other).hash.slice(0, 12)})`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('--timeout takes whole seconds only, refused before any work (exit 2, one line)', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pibake-verify-to-'));
    try {
      writeFileSync(path.join(dir, 'x.img'), 'not really');
      const r = spawnSync('./scripts/node24', ['builder/cli.ts', 'verify', path.join(dir, 'x.img'), '--timeout=1.5'], { encoding: 'utf8' });
      expect([r.status, r.stderr.trim().split('\n')[0]]).toEqual([2, '--timeout 1.5: not a whole number of seconds from 1 to 7200']);
      const d = spawnSync('./scripts/node24', ['builder/cli.ts', 'verify', dir], { encoding: 'utf8' });
      expect([d.status, d.stderr.trim().split('\n')[0]]).toEqual([2, `${dir}: not a file`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
