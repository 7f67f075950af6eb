// A stage that fails, a bad services.enable, a build interrupted (SIGINT, SIGHUP, its output's reader gone): non-zero exit, one line, nothing left behind.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { deflateRawSync, crc32 } from 'node:zlib';
import path from 'node:path';
import { leftovers } from '../support/leaks.ts';
import { cacheDir } from '../../builder/paths.ts';

const root = path.resolve(import.meta.dirname, '../..');

type Interrupt = 'SIGINT' | 'SIGHUP' | 'close-pipe';

function runBuild(def: string, onStderr?: (text: string, kill: (how?: Interrupt) => void) => void): Promise<{ code: number | null; stderr: string; pid: number }> {
  return new Promise((resolve) => {
    const p = spawn(path.join(root, 'pibake'), ['build', def], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const kill = (how: Interrupt = 'SIGINT') => {
      if (how !== 'close-pipe') p.kill(how);
      else (p.stdout.destroy(), p.stderr.destroy()); // like `pibake build 2>&1 | head` once head has its lines
    };
    p.stderr.on('data', (d) => {
      stderr += d;
      onStderr?.(stderr, kill);
    });
    p.on('exit', (code) => resolve({ code, stderr, pid: p.pid! }));
  });
}

/** A one-member zip archive (local header, deflated data, central directory), as any zip tool writes it. */
function zipOf(name: string, text: string): Buffer {
  const data = Buffer.from(text), packed = deflateRawSync(data), fname = Buffer.from(name), crc = crc32(data);
  const local = Buffer.alloc(30); local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt16LE(8, 8);
  local.writeUInt32LE(crc, 14); local.writeUInt32LE(packed.length, 18); local.writeUInt32LE(data.length, 22); local.writeUInt16LE(fname.length, 26);
  const central = Buffer.alloc(46); central.writeUInt32LE(0x02014b50, 0); central.writeUInt16LE(20, 4); central.writeUInt16LE(20, 6); central.writeUInt16LE(8, 10);
  central.writeUInt32LE(crc, 16); central.writeUInt32LE(packed.length, 20); central.writeUInt32LE(data.length, 24); central.writeUInt16LE(fname.length, 28);
  const end = Buffer.alloc(22); end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(1, 8); end.writeUInt16LE(1, 10);
  end.writeUInt32LE(46 + fname.length, 12); end.writeUInt32LE(30 + fname.length + packed.length, 16);
  return Buffer.concat([local, fname, packed, central, fname, end]);
}

const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('pibake:'));

describe('failure paths', () => {
  it('a failing stage: exit 1, one error line naming the stage and the tool, nothing left behind', async () => {
    const { code, stderr, pid } = await runBuild('test/fixtures/failing-stage.yaml');
    expect(code).toBe(1);
    const errs = errorLines(stderr);
    expect(errs).toHaveLength(1);
    expect(errs[0]).toBe('pibake: stage packages: `apt-get install pibake-no-such-package (resolve and download)` failed (exit 100): E: Unable to locate package pibake-no-such-package');
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(leftovers({ pid, name: 'failing-stage', outDir: path.join(root, 'out/test-failing') })).toEqual([]);
    const out = path.join(root, 'out/test-failing');
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
  });

  it('a zip base with no .img inside: exit 2, one line naming the zip, nothing left behind (not even a cache entry)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pibake-zip-'));
    try {
      writeFileSync(path.join(dir, 'noimg.zip'), zipOf('readme.txt', 'not an image\n'));
      writeFileSync(path.join(dir, 'noimg.yaml'), 'name: noimg\nbase: { file: ./noimg.zip }\n');
      const digest = createHash('sha256').update(readFileSync(path.join(dir, 'noimg.zip'))).digest('hex');
      const { code, stderr, pid } = await runBuild(path.join(dir, 'noimg.yaml'));
      expect(code).toBe(2);
      expect(stderr.trim().split('\n').slice(-2)).toEqual(['noimg.zip: a zip with no .img inside', '  hint: point base at a Raspberry Pi OS image (.img, .img.xz, or a .zip holding one .img)']);
      expect(leftovers({ pid, name: 'noimg', outDir: path.join(root, 'out') })).toEqual([]);
      expect(existsSync(cacheDir('base', `image-${digest.slice(0, 16)}`))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('services.enable naming a unit the image lacks: exit 1, one line naming the stage and the unit, nothing left behind', async () => {
    const out = path.join(root, 'out/test-missing-unit');
    const { code, stderr, pid } = await runBuild('test/fixtures/missing-unit.yaml');
    expect(code).toBe(1);
    expect(errorLines(stderr)).toEqual(['pibake: stage services: enable pibake-no-such.service: no such unit in the image']);
    expect(stderr).toContain('  hint: install the package that ships it in stages.packages, or remove it from services.enable');
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(leftovers({ pid, name: 'missing-unit', outDir: out })).toEqual([]);
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
  });

  it('SIGINT in the middle of a stage: exit 130, one line, nothing left behind', async () => {
    let sent = false;
    const { code, stderr, pid } = await runBuild('test/fixtures/interrupt.yaml', (text, kill) => {
      if (!sent && text.includes('▶ stage packages')) {
        sent = true;
        setTimeout(kill, 1500); // the stage takes ~4 s with cached packages: land inside it
      }
    });
    expect(sent).toBe(true);
    expect(code).toBe(130);
    expect(errorLines(stderr)).toEqual(['pibake: interrupted by SIGINT; everything acquired was released']);
    expect(stderr).not.toMatch(/cleanup failed/); // the stage's processes in the chroot are stopped before the unmount
    expect(leftovers({ pid, name: 'interrupt', outDir: path.join(root, 'out/test-interrupt') })).toEqual([]);
  });

  it('the terminal closes (SIGHUP) in the middle of a stage: exit 130, one line, nothing left behind', async () => {
    let sent = false;
    const { code, stderr, pid } = await runBuild('test/fixtures/interrupt.yaml', (text, kill) => {
      if (!sent && text.includes('▶ stage packages')) {
        sent = true;
        setTimeout(() => kill('SIGHUP'), 1500);
      }
    });
    expect(sent).toBe(true);
    expect(code).toBe(130);
    expect(errorLines(stderr)).toEqual(['pibake: interrupted by SIGHUP; everything acquired was released']);
    expect(leftovers({ pid, name: 'interrupt', outDir: path.join(root, 'out/test-interrupt') })).toEqual([]);
  });

  it('the reader of its output goes away (`| head`): the build stops as if interrupted and leaves nothing behind', async () => {
    let sent = false;
    const { code, pid } = await runBuild('test/fixtures/interrupt.yaml', (text, kill) => {
      if (!sent && text.includes('▶ stage packages')) {
        sent = true;
        kill('close-pipe'); // the next progress line meets a closed pipe
      }
    });
    expect(sent).toBe(true);
    expect(code).toBe(130);
    expect(leftovers({ pid, name: 'interrupt', outDir: path.join(root, 'out/test-interrupt') })).toEqual([]);
  });
});
