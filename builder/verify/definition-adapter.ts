// The one place verify touches the engine: loads a definition and the stage registry, and picks out what verify needs.
import type { Stage } from '../stage.ts';
import { loadDefinition } from '../definition/load.ts';
import { stages as registry } from '../../stages/index.ts';
import type { StageConfigs } from './collect-checks.ts';

export interface DefinitionForVerify {
  path: string;
  stages: readonly Stage[];
  configs: StageConfigs;
  /** The IM server's guest port when the definition bakes it in. */
  imPort?: number;
}

export function loadDefinitionForVerify(path: string): DefinitionForVerify {
  const { def, file } = loadDefinition(path);
  const configs = (def as { stages?: StageConfigs }).stages ?? {};
  const im = configs['im-server'] as { port?: number } | undefined;
  return { path: file, stages: registry, configs, imPort: im ? (im.port ?? 8080) : undefined };
}
