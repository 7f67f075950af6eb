// `pibake plan` needs neither Docker nor root: before the base is cached it says which details wait for it.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tempDir } from '../support/temp-dir.ts';

describe('pibake plan', () => {
  it('lists every stage of the default image as an unprivileged user with no Docker engine', () => {
    const cache = tempDir('pibake-plan-');
    chmodSync(cache, 0o777);
    const r = spawnSync(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', './scripts/node24', 'builder/cli.ts', 'plan', 'images/im-server.yaml'],
      { encoding: 'utf8', env: { ...process.env, PIBAKE_CACHE: cache, DOCKER_HOST: 'unix:///nonexistent.sock', HOME: cache } },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^base: bootstrap Debian trixie arm64 \(Pi OS Lite layout\) — not built yet/);
    for (const s of ['packages', 'zram', 'im-server', 'services', 'sysctl', 'fstab', 'journald', 'logrotate', 'cron']) expect(r.stdout).toMatch(new RegExp(`^${s} — `, 'm'));
    expect(r.stdout).toContain('disable bluetooth.service (presence known after base)');
    expect(r.stdout).toContain('net.ipv4.tcp_rmem=4096 87380 16777216');
    expect(r.stdout).toMatch(/output: out\/im-server\.img\.xz/);
  });
});
