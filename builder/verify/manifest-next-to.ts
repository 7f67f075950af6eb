// The <name>.manifest.json that pibake build writes next to an image: where verify finds the image's base and definition.
import { basename, dirname, join } from 'node:path';

export function manifestNextTo(image: string): { name: string; file: string } {
  const name = `${basename(image).replace(/\.img(\.xz)?$/, '')}.manifest.json`;
  return { name, file: join(dirname(image), name) };
}
