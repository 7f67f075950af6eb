// `pibake verify`: runs verifyImage, prints the table, returns the exit code (0 all checks pass, 1 any fails).
import { dirname, resolve } from 'node:path';
import { createReporter } from '../reporter.ts';
import { verifyImage, formatReport } from './index.ts';
import { baseImageFromManifest } from './base-locate.ts';

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
  const report = await verifyImage({
    image,
    definition: a.definition,
    compareBase: a.compareBase,
    baseImage,
    outDir: a.reportDir ?? dirname(image),
    timeoutSec: a.timeoutSec,
    log: (m) => r.info(m),
  });
  process.stdout.write(formatReport(report) + '\n');
  return report.ok ? 0 : 1;
}
