// Run as root (like a cron job by mistake), the admin CLI acts as the data dir's owner and leaves no root-owned file there.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, mkdirSync, chownSync, chmodSync, writeFileSync, readdirSync, statSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { admin } from './helpers.ts';

const NOBODY = 65534;

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => { const p = join(dir, f); return statSync(p).isDirectory() ? [p, ...walk(p)] : [p]; });
}

describe.skipIf(process.getuid?.() !== 0)('admin CLI as root', () => {
  it('switches to the owner of data_dir: users add and backup create no root-owned files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pibake-im-owner-'));
    chmodSync(dir, 0o755);
    const data = join(dir, 'data');
    mkdirSync(data);
    chownSync(data, NOBODY, NOBODY);
    const configFile = join(dir, 'config.yaml');
    writeFileSync(configFile, stringify({ data_dir: data, log_dir: join(data, 'log'), backup: { dir: join(data, 'backups'), retention: 2 } }));
    expect(admin({ configFile }, ['users', 'add', 'cron'], 'pw').code).toBe(0);
    const r = admin({ configFile }, ['backup']);
    expect(r.code, r.stderr).toBe(0);
    const files = walk(data);
    expect(files.some((f) => f.includes('backups/pibake-im-'))).toBe(true);
    for (const f of files) expect(statSync(f).uid, f).toBe(NOBODY);
    rmSync(dir, { recursive: true, force: true });
  });
});
