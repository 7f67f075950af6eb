// `pibake verify`: runs verifyImage, prints the table, returns the exit code (0 all checks pass, 1 any fails).
import { dirname, resolve } from 'node:path';
import { createReporter } from '../reporter.ts';
import { verifyImage, formatReport } from './index.ts';
import { baseImageFromManifest } from './base-locate.ts';
import { definitionFromManifest, definitionMismatch } from './definition-locate.ts';

export interface VerifyCommandArgs {
  image: string;
  definition?: string;
  compareBase?: boolean;
  baseImage?: string;
  timeoutSec?: number;
  reportDir?: string;
  verbose?: boolean;
}

export async function verifyCommand(a: VerifyCommandArgs): Promise<number> {
  const r = createReporter({ verbose: a.verbose });
  const image = resolve(a.image);
  const baseImage = a.compareBase ? (a.baseImage ? resolve(a.baseImage) : baseImageFromManifest(image)) : undefined;
  // without --definition, the one the manifest names (unchanged since the build); else say that stage checks are skipped
  let definition = a.definition;
  const mismatch = definition ? definitionMismatch(image, definition) : null;
  if (mismatch) r.warn(`${mismatch}: its checks run, but what only the image's own definition set up is not checked`);
  if (!definition) {
    const found = definitionFromManifest(image);
    if (found.file) r.info(`definition ${found.file} (${found.why})`);
    else r.warn(`no --definition, and ${found.why}: only the built-in checks run (boot, failed units, timings) — pass --definition <file.yaml> to check every stage's effect`);
    definition = found.file;
  }
  const report = await verifyImage({
    image,
    definition,
    compareBase: a.compareBase,
    baseImage,
    outDir: a.reportDir ?? dirname(image),
    timeoutSec: a.timeoutSec,
    log: (m) => r.info(m),
  });
  process.stdout.write(formatReport(report) + '\n');
  return report.ok ? 0 : 1;
}
