// Writes the build's outputs under temporary names (xz, sha256, bmap, manifest) and renames them at the very end.
import { existsSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { BuildContainer } from '../container/build-container.ts';
import type { CleanupStack } from '../cleanup.ts';
import { sha256File } from '../host/hash.ts';
import type { Reporter } from '../reporter.ts';

export interface OutputNames {
  dir: string;
  stem: string;
  xz: string;
  sha256: string;
  bmap: string;
  manifest: string;
  imager: string;
}

export function outputNames(dir: string, stem: string): OutputNames {
  return {
    dir,
    stem,
    xz: path.join(dir, `${stem}.img.xz`),
    sha256: path.join(dir, `${stem}.img.xz.sha256`),
    bmap: path.join(dir, `${stem}.img.bmap`),
    manifest: path.join(dir, `${stem}.manifest.json`), // named like the rest: several images can share one dir
    imager: path.join(dir, `${stem}.rpi-imager.json`),
  };
}

const partial = (f: string) => path.join(path.dirname(f), `.${path.basename(f)}.partial-${process.pid}`);

/** Compresses /build/work.img into the output dir (bound at /out) and writes checksum, bmap and manifest. */
export async function writeOutputs(
  c: BuildContainer,
  names: OutputNames,
  xzLevel: number,
  manifest: (facts: { rawBytes: number; xzBytes: number; sha256: string; rawSha256: string }) => object,
  imager: { name: string; description: string },
  hostImage: string,
  reporter: Reporter,
  cleanups: CleanupStack,
): Promise<void> {
  const all = [names.xz, names.sha256, names.bmap, names.manifest, names.imager];
  const temps = all.map(partial);
  const dropTemps = cleanups.push('remove partial outputs', () => temps.forEach((t) => rmSync(t, { force: true })));
  const inOut = (f: string) => `/out/${path.basename(f)}`;
  const s1 = reporter.step(`compress ${path.basename(names.xz)} (xz -${xzLevel} -T0)`);
  await c.sh(`xz -T0 -${xzLevel} -c /build/work.img > '${inOut(partial(names.xz))}'`);
  s1.done();
  await c.sh(`bmaptool -q create /build/work.img > '${inOut(partial(names.bmap))}'`);
  const digest = await sha256File(partial(names.xz));
  writeFileSync(partial(names.sha256), `${digest}  ${path.basename(names.xz)}\n`);
  const facts = { rawBytes: statSync(hostImage).size, xzBytes: statSync(partial(names.xz)).size, sha256: digest, rawSha256: await sha256File(hostImage) };
  writeFileSync(partial(names.manifest), JSON.stringify(manifest(facts), null, 2) + '\n');
  // A Raspberry Pi Imager repository entry (os_list format): add it to a custom repository JSON to offer the image.
  const entry = {
    name: imager.name,
    description: imager.description,
    url: path.basename(names.xz),
    extract_size: facts.rawBytes,
    extract_sha256: facts.rawSha256,
    image_download_size: facts.xzBytes,
    image_download_sha256: digest,
    release_date: new Date().toISOString().slice(0, 10),
    devices: ['pi4-64bit', 'pi5-64bit'],
  };
  writeFileSync(partial(names.imager), JSON.stringify({ os_list: [entry] }, null, 2) + '\n');
  // Rename last: the image first would let a reader see an image without its checksum; checksum first is harmless.
  for (const f of [names.bmap, names.manifest, names.imager, names.sha256, names.xz]) renameSync(partial(f), f);
  await dropTemps();
  for (const t of temps) if (existsSync(t)) rmSync(t);
}
