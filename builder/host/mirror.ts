// Finds the Debian archive URL the build host already uses (deb822 .sources or one-line sources.list).
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { PibakeError } from '../errors.ts';

export function parseAptSources(text: string): string[] {
  const urls: string[] = [];
  for (const m of text.matchAll(/^URIs:\s*(.+)$/gim)) urls.push(...m[1]!.trim().split(/\s+/));
  for (const m of text.matchAll(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+/gm)) urls.push(m[1]!);
  return urls;
}

/** The first URL serving the Debian archive itself (not security, not third-party repositories). */
export function pickDebianMirror(urls: string[]): string | undefined {
  return urls.find((u) => /^https?:\/\//.test(u) && /\/debian\/?$/.test(u));
}

export function hostDebianMirror(): string {
  if (process.env.PIBAKE_MIRROR) return process.env.PIBAKE_MIRROR;
  const files = ['/etc/apt/sources.list'];
  const dir = '/etc/apt/sources.list.d';
  if (existsSync(dir)) files.push(...readdirSync(dir).filter((f) => /\.(list|sources)$/.test(f)).map((f) => path.join(dir, f)));
  const urls: string[] = [];
  for (const f of files) {
    try {
      urls.push(...parseAptSources(readFileSync(f, 'utf8')));
    } catch {
      /* unreadable source file: skip */
    }
  }
  const mirror = pickDebianMirror(urls);
  if (!mirror)
    throw new PibakeError('config', 'E_MIRROR', 'no Debian archive URL found in the host apt sources', 'set base.bootstrap.mirror in the definition or PIBAKE_MIRROR');
  return mirror.replace(/\/$/, '');
}
