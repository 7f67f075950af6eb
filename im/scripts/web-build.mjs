// Builds the web client and status page (esbuild) plus their static files into a directory; shared by build-web and build-bundle.
import { build } from 'esbuild';
import { mkdirSync, copyFileSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const IM_DIR = resolve(import.meta.dirname, '..');

export async function buildWeb(outDir) {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: { app: join(IM_DIR, 'web/app.ts'), status: join(IM_DIR, 'web/status.ts') },
    outdir: outDir, absWorkingDir: IM_DIR, bundle: true, minify: true, format: 'iife', target: ['chrome100', 'safari15', 'firefox100'],
    legalComments: 'none', logLevel: 'error', charset: 'utf8',
  });
  for (const f of readdirSync(join(IM_DIR, 'web'))) {
    if (/\.(html|css|svg|ico)$/.test(f)) copyFileSync(join(IM_DIR, 'web', f), join(outDir, f));
  }
  copyFileSync(join(IM_DIR, 'node_modules/uplot/dist/uPlot.min.css'), join(outDir, 'uPlot.min.css'));
}
