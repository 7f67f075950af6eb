// Renders the nunjucks templates under templates/ (autoescape off, undefined variables are errors).
import path from 'node:path';
import nunjucks from 'nunjucks';
import { projectRoot } from './paths.ts';
import { PibakeError } from './errors.ts';

export const templatesDir = path.join(projectRoot, 'templates');

let env: nunjucks.Environment | undefined;

export function renderTemplate(name: string, vars: Record<string, unknown>): string {
  env ??= new nunjucks.Environment(new nunjucks.FileSystemLoader(templatesDir, { noCache: false }), {
    autoescape: false,
    throwOnUndefined: true,
    trimBlocks: true,
    lstripBlocks: true,
  });
  try {
    return env.render(name, vars);
  } catch (e: any) {
    throw new PibakeError('stage', 'E_TEMPLATE', `template ${name}: ${String(e.message).split('\n').pop()?.trim()}`);
  }
}
