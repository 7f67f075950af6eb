// Integration setup: builds the default image once with the real CLI (README command 1) and hands its path to the tests.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    builtImage: string;
    outDir: string;
  }
}

export default async function setup(project: TestProject) {
  const root = path.resolve(import.meta.dirname, '../..');
  const outDir = path.join(root, 'out', 'test');
  if (!process.env.PIBAKE_TEST_REUSE_IMAGE || !existsSync(path.join(outDir, 'im-server.img.xz'))) {
    const started = Date.now();
    await new Promise<void>((resolve, reject) => {
      const p = spawn(path.join(root, 'pibake'), ['build', 'images/im-server.yaml', '--out', outDir], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
      p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`pibake build images/im-server.yaml failed (exit ${code})`))));
    });
    process.stderr.write(`integration setup: default image built in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  }
  project.provide('builtImage', path.join(outDir, 'im-server.img.xz'));
  project.provide('outDir', outDir);
}
