// `pibake plan`: what each stage of a definition will change, read from the cached base when there is one.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { LoadedDefinition } from './definition/load.ts';
import { bootstrapCachePath } from './base/bootstrap.ts';
import { debugfsView, readBaseLayout } from './image/base-view.ts';
import { stages } from '../stages/index.ts';
import type { BaseView } from './stage.ts';
import { cacheDir } from './paths.ts';
import { sha256File } from './host/hash.ts';
import { PibakeError } from './errors.ts';

async function cachedBaseImage(loaded: LoadedDefinition): Promise<string | undefined> {
  const b = loaded.def.base;
  if (b.bootstrap) {
    const img = path.join(bootstrapCachePath(b.bootstrap).dir, 'base.img');
    return existsSync(img) ? img : undefined;
  }
  if (b.file) {
    const f = path.resolve(loaded.dir, b.file);
    if (!existsSync(f)) throw new PibakeError('config', 'E_BASE_FILE', `base.file ${b.file}: no such file (resolved to ${f})`, 'paths are relative to the definition file');
    if (f.endsWith('.img')) return f;
    const img = cacheDir('base', `image-${(await sha256File(f)).slice(0, 16)}`, 'base.img');
    return existsSync(img) ? img : undefined;
  }
  const img = cacheDir('base', `image-${b.sha256!.slice(0, 16)}`, 'base.img');
  return existsSync(img) ? img : undefined;
}

export async function plan(loaded: LoadedDefinition): Promise<string> {
  const lines: string[] = [];
  const b = loaded.def.base;
  const baseDesc = b.bootstrap ? `bootstrap Debian ${b.bootstrap.suite} arm64 (Pi OS Lite layout)` : b.file ? `file ${b.file}` : `url ${b.url}`;
  const img = await cachedBaseImage(loaded);
  let view: BaseView | undefined;
  if (img) {
    view = debugfsView(img, readBaseLayout(img, img));
    lines.push(`base: ${baseDesc} — cached at ${img}; details below read from it`);
  } else {
    lines.push(`base: ${baseDesc} — not built yet; details marked (after base) are known once the base is cached (pibake build)`);
  }
  for (const stage of stages) {
    const cfg = (loaded.def.stages as Record<string, unknown>)[stage.name];
    if (cfg === undefined) continue;
    lines.push(`\n${stage.name} — ${stage.description}`);
    for (const l of stage.plan(cfg as never, view)) lines.push(`  • ${l}`);
  }
  const o = loaded.def.output;
  lines.push(`\noutput: ${path.join(o.dir, `${o.name ?? loaded.def.name}.img.xz`)} (+ .sha256, .bmap, .rpi-imager.json, .manifest.json)`);
  return lines.join('\n');
}
