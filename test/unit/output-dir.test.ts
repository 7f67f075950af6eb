// prepareOutputDir: creates nested directories, and fails at once with one line where no directory can exist.
import { describe, it, expect } from 'vitest';
import { existsSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { missingDirs, prepareOutputDir, removeIfEmpty } from '../../builder/output/prepare-dir.ts';
import { tempDir } from '../support/temp-dir.ts';

const fail = (what: string) => new Error(what);

describe('prepareOutputDir', () => {
  it('creates missing parents and leaves no probe file behind', () => {
    const root = tempDir('pibake-out-');
    const dir = prepareOutputDir(join(root, 'a/b/c'), fail);
    expect(statSync(dir).isDirectory()).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('rejects a path under a file', () => {
    const root = tempDir('pibake-out-');
    writeFileSync(join(root, 'f'), 'x');
    expect(() => prepareOutputDir(join(root, 'f/out'), fail)).toThrow(`${join(root, 'f')} exists and is not a directory`);
  });

  it('rejects /proc/x at once (recursive mkdir would loop forever there)', () => {
    const t0 = Date.now();
    expect(() => prepareOutputDir('/proc/pibake-x/y', fail)).toThrow('cannot create /proc/pibake-x (ENOENT)');
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});

describe('the output directories a failed build made', () => {
  it('are removed again while empty, innermost first; a directory with a file in it stays, with its parents', () => {
    const root = tempDir('pibake-out-');
    const made = missingDirs(join(root, 'a/b/c'));
    expect(made).toEqual([join(root, 'a'), join(root, 'a/b'), join(root, 'a/b/c')]);
    prepareOutputDir(join(root, 'a/b/c'), fail);
    writeFileSync(join(root, 'a', 'keep.txt'), 'x');
    removeIfEmpty(made);
    expect([existsSync(join(root, 'a/b')), existsSync(join(root, 'a/keep.txt'))]).toEqual([false, true]);
    expect(missingDirs(root)).toEqual([]);
  });
});

describe('build --out', () => {
  it('an empty --out is bad input before any work (path.resolve would make it the current directory)', async () => {
    const { build } = await import('../../builder/build.ts');
    const { loadDefinition } = await import('../../builder/definition/load.ts');
    const { createReporter } = await import('../../builder/reporter.ts');
    const err = await build(loadDefinition('images/im-server.yaml'), { reporter: createReporter({ quiet: true }), outDir: '' }).catch((e: Error & { exitCode?: number }) => e);
    expect([(err as { exitCode?: number }).exitCode, (err as Error).message]).toEqual([2, 'output directory: --out is empty']);
  });
});
