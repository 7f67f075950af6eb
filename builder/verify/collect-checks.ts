// Collects verify checks from the stages a definition uses (registry order), tagged with their source.
import type { Stage, VerifyCheck } from '../stage.ts';
import { VerifyError } from './errors.ts';

export interface SourcedCheck extends VerifyCheck {
  source: string; // "builtin" or "stage:<name>"
}

/** Stage configs keyed by stage name, as the loaded definition holds them; a stage whose key is absent is skipped. */
export type StageConfigs = Record<string, unknown>;

const ID = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;

export function collectStageChecks(stages: readonly Stage[], configs: StageConfigs): SourcedCheck[] {
  const out: SourcedCheck[] = [];
  for (const stage of stages) {
    if (!(stage.name in configs) || configs[stage.name] === undefined || !stage.verify) continue;
    for (const c of stage.verify(configs[stage.name] as never)) out.push({ ...c, source: `stage:${stage.name}` });
  }
  return out;
}

/** Rejects ids that cannot be a file name in the guest and duplicate ids (a later row would hide an earlier one). */
export function validateChecks(checks: SourcedCheck[]): SourcedCheck[] {
  const seen = new Map<string, string>();
  for (const c of checks) {
    if (!ID.test(c.id)) throw new VerifyError('check', `check id '${c.id}' (${c.source}) is not a plain name`, 'use letters, digits, . _ : - only');
    if (!c.guest && !c.host) throw new VerifyError('check', `check '${c.id}' (${c.source}) has neither guest nor host part`, 'give it a guest script or a host function');
    const prev = seen.get(c.id);
    if (prev) throw new VerifyError('check', `check id '${c.id}' is declared by ${prev} and ${c.source}`, 'make the ids unique, e.g. prefix them with the stage name');
    seen.set(c.id, c.source);
  }
  return checks;
}
