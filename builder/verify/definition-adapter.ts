// The one place verify touches the engine: loads a definition and the stage registry (adapter until they are final).
import { resolve } from 'node:path';
import type { Stage } from '../stage.ts';
import { VerifyError } from './errors.ts';
import type { StageConfigs } from './collect-checks.ts';

export interface LoadedDefinition {
  path: string;
  stages: readonly Stage[];
  configs: StageConfigs;
}

async function importOptional(spec: string): Promise<Record<string, unknown> | undefined> {
  try {
    return (await import(spec)) as Record<string, unknown>;
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && String((e as Error).message).includes(spec.split('/').pop()!)) return undefined;
    throw e;
  }
}

/**
 * Expects builder/definition.ts to export loadDefinition(path) -> an object whose stage configs are keyed by stage
 * name (directly or under `.stages`), and stages/index.ts to export the ordered registry as `stages` (or default).
 */
export async function loadDefinitionForVerify(path: string): Promise<LoadedDefinition> {
  const defMod = await importOptional('../definition.ts');
  const regMod = await importOptional('../../stages/index.ts');
  if (!defMod || typeof defMod.loadDefinition !== 'function' || !regMod) {
    throw new VerifyError('definition', 'this pibake has no definition loader or stage registry yet', 'run verify without --definition (built-in checks only)');
  }
  const def = (await (defMod.loadDefinition as (p: string) => Promise<unknown>)(resolve(path))) as Record<string, unknown>;
  const configs = ((def.stages as StageConfigs | undefined) ?? def) as StageConfigs;
  const stages = (regMod.stages ?? regMod.default) as readonly Stage[] | undefined;
  if (!Array.isArray(stages)) throw new VerifyError('definition', 'stages/index.ts exports no stage array', "export the registry as 'stages'");
  return { path, stages, configs };
}
