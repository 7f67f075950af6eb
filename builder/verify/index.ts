// pibake verify: boots a built image under qemu and proves every stage's effect is live; the CLI calls verifyImage().
import { writeFile } from 'node:fs/promises';
import { prepareOutputDir } from '../output/prepare-dir.ts';
import { join, resolve } from 'node:path';
import type { VerifyCheck } from '../stage.ts';
import { withCleanups } from '../cleanup.ts';
import { bootAndVerify } from './boot.ts';
import { collectStageChecks, type SourcedCheck } from './collect-checks.ts';
import { loadDefinitionForVerify } from './definition-adapter.ts';
import { VerifyError } from './errors.ts';
import { checkHostTools } from './preflight.ts';
import type { VerifyReport } from './report.ts';

export { formatReport } from './report.ts';
export type { VerifyReport, BootReport, CheckResult } from './report.ts';
export { describeError, VerifyError } from './errors.ts';
export { verifyCommand } from './command.ts';

export interface VerifyOptions {
  image: string; // .img or .img.xz
  definition?: string; // images/x.yaml: its stages' verify() checks are run
  compareBase?: boolean;
  baseImage?: string; // required with compareBase
  outDir: string; // console logs, guest results and verify-report.json go here
  timeoutSec?: number; // per boot, default 900 (also the CLI default of --timeout)
  checkTimeoutSec?: number; // per guest check, default 180
  /** Extra checks (tests, ad-hoc), run after the definition's. */
  extraChecks?: VerifyCheck[];
  /** Force the IM server rows on or off; default: on when the image has pibake-im.service. */
  imChecks?: boolean;
  log?: (message: string) => void;
}

export async function verifyImage(o: VerifyOptions): Promise<VerifyReport> {
  const started = Date.now();
  const log = o.log ?? ((m: string) => console.error(`verify: ${m}`));
  if (o.compareBase && !o.baseImage) throw new VerifyError('input', '--compare-base needs the base image', 'pass --base-image <base.img> (the cached base the image was built from)');
  await checkHostTools();
  const outDir = prepareOutputDir(o.outDir, (what) => new VerifyError('input', `output directory: ${what}`, 'choose a writable directory with --out'));
  // PIBAKE_DEBUG_CLEANUP: name every cleanup as it runs
  const debug = process.env.PIBAKE_DEBUG_CLEANUP ? (m: string) => process.stderr.write(`${m}\n`) : () => {};
  return withCleanups('verify', { warn: log, debug }, async (cleanups, signal) => {
    let stageChecks: SourcedCheck[] = [];
    let imChecks: boolean | 'auto' = o.imChecks ?? 'auto';
    let imPort = 8080;
    if (o.definition) {
      const def = loadDefinitionForVerify(o.definition);
      stageChecks = collectStageChecks(def.stages, def.configs);
      log(`${stageChecks.length} checks from the stages of ${o.definition}`);
      if (o.imChecks === undefined) imChecks = def.imPort !== undefined;
      imPort = def.imPort ?? imPort;
    }
    stageChecks.push(...(o.extraChecks ?? []).map((c) => ({ ...c, source: 'extra' })));
    const common = { outDir, timeoutSec: o.timeoutSec ?? 900, checkTimeoutSec: o.checkTimeoutSec ?? 180, log, cleanups, signal };
    const boots = [await bootAndVerify({ ...common, image: o.image, role: 'image', stageChecks, imChecks, imPort })];
    if (o.compareBase) boots.push(await bootAndVerify({ ...common, image: o.baseImage!, role: 'base', stageChecks: [], imChecks: false, imPort }));
    const report: VerifyReport = {
      ok: boots[0]!.checks.every((c) => c.status !== 'fail'), // the base boot only gives the comparison
      startedAt: new Date(started).toISOString(),
      durationSec: Math.round((Date.now() - started) / 100) / 10,
      ...(o.definition ? { definition: o.definition } : {}),
      boots,
      reportFile: join(outDir, 'verify-report.json'),
    };
    if (o.compareBase) {
      const a = boots[0]!.timings.multiUserSec;
      const b = boots[1]!.timings.multiUserSec;
      report.compare = { imageMultiUserSec: a, baseMultiUserSec: b, ratio: a && b ? Math.round((a / b) * 100) / 100 : undefined };
    }
    await writeFile(report.reportFile, JSON.stringify(report, null, 2) + '\n');
    return report;
  });
}
