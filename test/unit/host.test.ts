// The engine's host helpers shared by build and verify: apt sources, hostExec, cache entries, cleanups, signals, free space.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statfsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAptSources, pickDebianSource, pickSecurityMirror } from '../../builder/host/mirror.ts';
import { hostExec } from '../../builder/host/exec.ts';
import { fillCacheDir } from '../../builder/host/cache-entry.ts';
import { CleanupStack, withCleanups } from '../../builder/cleanup.ts';
import { buildWorkPid, cacheTempPid, removeStaleDirs } from '../../builder/host/stale-dirs.ts';
import { tempDir } from '../support/temp-dir.ts';
import { assertFreeSpace, buildSpaceNeeds } from '../../builder/host/free-space.ts';

const quiet = { step: () => ({ done: () => 0, fail: () => {} }) };

describe('host apt sources', () => {
  it('deb822: the Debian archive with its first suite and keyring; security, deb-src, disabled and third-party left out', () => {
    const text = [
      'Types: deb\nURIs: https://repo.example/apt\nSuites: stable\nSigned-By: /usr/share/keyrings/x.gpg',
      'Types: deb-src\nURIs: http://mirror.example/debian\nSuites: old',
      'Types: deb\nURIs: http://mirror.example/debian\nSuites: sid\nEnabled: no',
      'Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security',
      'Types: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg',
    ].join('\n\n');
    expect(pickDebianSource(parseAptSources(text))).toEqual({ uri: 'http://mirror.example/debian', suite: 'bookworm', keyring: '/usr/share/keyrings/debian-archive-keyring.gpg' });
  });
  it('one-line sources.list, with and without options', () => {
    const text = '# deb http://old.example/debian jessie main\ndeb-src http://mirror.example/debian trixie main\ndeb [arch=arm64 signed-by=/k.gpg] http://mirror.example/debian trixie main contrib\n';
    expect(parseAptSources(text)).toEqual([{ uri: 'http://mirror.example/debian', suites: ['trixie'], signedBy: '/k.gpg' }]);
    expect(pickDebianSource(parseAptSources('deb http://mirror.example/debian trixie main\n'))).toEqual({ uri: 'http://mirror.example/debian', suite: 'trixie', keyring: undefined });
  });
  it('no Debian archive: nothing picked', () => {
    expect(pickDebianSource(parseAptSources('deb https://repo.example/apt stable main\n'))).toBeUndefined();
  });
  it('security archive: the listed debian-security of the same host, else derived from the mirror, else none', () => {
    const listed = parseAptSources('deb http://mirror.example/debian trixie main\ndeb http://sec.example/debian-security trixie-security main\ndeb http://mirror.example/debian-security/ trixie-security main\n');
    expect(pickSecurityMirror(listed, 'http://mirror.example/debian')).toBe('http://mirror.example/debian-security');
    expect(pickSecurityMirror([], 'http://other.example/pub/debian/')).toBe('http://other.example/pub/debian-security');
    expect(pickSecurityMirror(listed, 'http://apt.example/mirror')).toBeUndefined();
  });
});

describe('hostExec', () => {
  it('strips the final newline unless told to keep it (exact file contents)', async () => {
    expect((await hostExec(['printf', 'a\\n'])).stdout).toBe('a');
    expect((await hostExec(['printf', 'a\\n'], { keepFinalNewline: true })).stdout).toBe('a\n');
  });
  it('a failing command is one ToolError line with the hint', async () => {
    await expect(hostExec(['sh', '-c', 'echo "E: broken" >&2; exit 3'], { hint: 'fix it' })).rejects.toMatchObject({ message: '`sh -c echo "E: broken" >&2; exit 3` failed (exit 3): E: broken', hint: 'fix it' });
  });
});

describe('fillCacheDir', () => {
  it('fills through a temp dir renamed into place; a failed fill leaves neither', async () => {
    const root = tempDir('pibake-cache-entry-');
    const cleanups = new CleanupStack();
    await fillCacheDir(path.join(root, 'a'), 'a', quiet, cleanups, async (tmp) => writeFileSync(path.join(tmp, 'f'), 'x'));
    expect(readFileSync(path.join(root, 'a', 'f'), 'utf8')).toBe('x');
    await expect(fillCacheDir(path.join(root, 'b'), 'b', quiet, cleanups, async () => { throw new Error('no network'); })).rejects.toThrow('no network');
    expect(readdirSync(root)).toEqual(['a']);
    expect(cleanups.size).toBe(0);
  });
});

describe('withCleanups', () => {
  // A real signal to a real process: vitest's own process must not receive it.
  const script = `
    import { withCleanups } from ${JSON.stringify(path.resolve('builder/cleanup.ts'))};
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    try {
      await withCleanups('the test', { warn: (m) => console.log('warn: ' + m), debug: (m) => console.log(m) }, async (cleanups) => {
        cleanups.push('first', () => console.log('ran first'));
        cleanups.push('second', async () => { process.kill(process.pid, 'SIGINT'); await sleep(100); console.log('ran second'); });
        process.kill(process.pid, 'SIGINT');
        await sleep(400);
        cleanups.push('late', () => console.log('ran late'));
      });
    } catch (e) {
      console.log('error: ' + e.message + ' (exit ' + e.exitCode + ')');
    }`;
  it('SIGINT: every cleanup runs newest first, a second SIGINT cannot cut them short, a late one runs at once', () => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual([
      'warn: SIGINT: stopping, releasing what the test acquired',
      'cleanup: second',
      'ran second',
      'cleanup: first',
      'ran first',
      'error: interrupted by SIGINT; everything acquired was released (exit 130)',
      'cleanup (late): late',
      'ran late',
    ]);
    expect(r.status).toBe(0);
  });
  it('a finished run returns its value, ran its cleanups and leaves no signal handler behind', async () => {
    const before = process.listenerCount('SIGINT') + process.listenerCount('SIGTERM');
    const ran: string[] = [];
    const v = await withCleanups('the test', { warn: () => {}, debug: () => {} }, async (cleanups) => {
      cleanups.push('x', () => void ran.push('x'));
      return 42;
    });
    expect([v, ran]).toEqual([42, ['x']]);
    expect(process.listenerCount('SIGINT') + process.listenerCount('SIGTERM')).toBe(before);
  });
});

describe('stale work directories', () => {
  it("removes only the directories of runs that are gone: not live ones, not other names", () => {
    const dir = tempDir('pibake-stale-');
    const gone = spawnSync('true').pid!; // exited: its pid names a run that is gone
    const live = process.ppid;
    for (const n of [`im-server-${gone}-AbC123`, `im-server-${live}-XyZ789`, 'im-server-AbC123', `base.tmp-${gone}`, `bootstrap-1.tmp-${live}`]) writeFileSync(path.join(dir, n), '');
    expect(removeStaleDirs(dir, buildWorkPid)).toEqual([`im-server-${gone}-AbC123`]);
    expect(removeStaleDirs(dir, cacheTempPid)).toEqual([`base.tmp-${gone}`]);
    expect(readdirSync(dir).sort()).toEqual([`bootstrap-1.tmp-${live}`, 'im-server-AbC123', `im-server-${live}-XyZ789`].sort());
    expect(removeStaleDirs(path.join(dir, 'missing'), buildWorkPid)).toEqual([]);
  });
});

describe('free space before a build', () => {
  it('passes what fits, refuses what does not with the directory and both sizes, and adds up needs on one filesystem', () => {
    const dir = tempDir('pibake-space-');
    const st = statfsSync(dir);
    const free = st.bavail * st.bsize;
    expect(() => assertFreeSpace([{ dir, bytes: free / 4, what: 'a' }])).not.toThrow();
    expect(() => assertFreeSpace([{ dir, bytes: free * 4, what: 'working copy of the image' }]))
      .toThrow(new RegExp(`^not enough free space in ${dir}: [0-9.]+ GiB free, the build needs about [0-9.]+ GiB there \\(working copy of the image\\)$`));
    expect(() => assertFreeSpace([{ dir, bytes: free * 0.6, what: 'a' }, { dir: os.tmpdir(), bytes: free * 0.6, what: 'b' }])).toThrow(/\(a \+ b\)/);
  });
  it('sizes the work from the allocated blocks of the base image, not its apparent size', () => {
    const dir = tempDir('pibake-space-');
    const img = path.join(dir, 'base.img');
    writeFileSync(img, Buffer.alloc(1 << 20, 1));
    spawnSync('truncate', ['-s', '2G', img]); // sparse: 2 GiB apparent, 1 MiB allocated
    const [work, out] = buildSpaceNeeds(img, 256, dir, dir);
    expect(work.bytes).toBe(2 ** 20 + 256 * 2 ** 20 + 2 ** 30);
    expect(out.bytes).toBe(Math.ceil((2 ** 20 + 256 * 2 ** 20) / 2));
  });
});
