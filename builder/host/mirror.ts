// Finds the Debian archive the host already uses (deb822 .sources or one-line sources.list): for bootstrap and verify.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { PibakeError } from '../errors.ts';

/** One archive of an apt sources file (a deb822 stanza gives one per URI). */
export interface AptSource {
  uri: string;
  suites: string[];
  signedBy?: string; // a keyring path
}

/** The binary (`deb`) sources of a sources file, in order; deb-src only and `Enabled: no` entries are left out. */
export function parseAptSources(text: string): AptSource[] {
  const found: AptSource[] = [];
  const keyring = (v: string | undefined) => (v?.startsWith('/') ? v : undefined);
  for (const stanza of text.split(/\n\s*\n/)) {
    const field = (k: string): string | undefined => new RegExp(`^${k}:[ \\t]*(.*)$`, 'mi').exec(stanza)?.[1]?.trim();
    const uris = field('URIs')?.split(/\s+/).filter(Boolean);
    if (!uris?.length || !(field('Types') ?? 'deb').split(/\s+/).includes('deb') || /^no$/i.test(field('Enabled') ?? '')) continue;
    const suites = field('Suites')?.split(/\s+/).filter(Boolean) ?? [];
    for (const uri of uris) found.push({ uri, suites, signedBy: keyring(field('Signed-By')) });
  }
  for (const m of text.matchAll(/^deb\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)/gm)) {
    found.push({ uri: m[2]!, suites: [m[3]!], signedBy: keyring(/signed-by=(\S+)/.exec(m[1] ?? '')?.[1]) });
  }
  return found;
}

/** The host's Debian archive as the verify kit's private apt reads it. */
export interface DebianSource {
  uri: string;
  suite: string;
  keyring?: string;
}

/** The Debian archive itself: not security, not a third-party repository. */
const isDebianArchive = (s: AptSource): boolean => /^https?:\/\//.test(s.uri) && /\/debian\/?$/.test(s.uri);
const mainSuite = (s: AptSource): string | undefined => s.suites.find((x) => !/security/.test(x));

/** The first Debian archive entry (with a non-security suite) of the host's apt sources. */
export function pickDebianSource(sources: AptSource[]): DebianSource | undefined {
  const s = sources.find((x) => isDebianArchive(x) && mainSuite(x));
  return s && { uri: s.uri.replace(/\/$/, ''), suite: mainSuite(s)!, keyring: s.signedBy };
}

function hostAptSources(): AptSource[] {
  const files = ['/etc/apt/sources.list'];
  const dir = '/etc/apt/sources.list.d';
  if (existsSync(dir)) files.push(...readdirSync(dir).filter((f) => /\.(list|sources)$/.test(f)).map((f) => path.join(dir, f)));
  const sources: AptSource[] = [];
  for (const f of files) {
    try {
      sources.push(...parseAptSources(readFileSync(f, 'utf8')));
    } catch {
      /* unreadable source file: skip */
    }
  }
  return sources;
}

/** The security archive matching a main archive URL: the sources' debian-security entry on the same host, else the
 * URL with its last `/debian` path component made `/debian-security` (Debian's own layout), else none. */
export function pickSecurityMirror(sources: AptSource[], mirror: string): string | undefined {
  const host = (u: string) => /^[a-z]+:\/\/([^/]+)/i.exec(u)?.[1];
  const listed = sources.find((x) => /\/debian-security\/?$/.test(x.uri) && host(x.uri) === host(mirror));
  if (listed) return listed.uri.replace(/\/$/, '');
  return /\/debian\/?$/.test(mirror) ? mirror.replace(/\/debian\/?$/, '/debian-security') : undefined;
}

/** The security archive a bootstrap adds next to `mirror` ($PIBAKE_SECURITY_MIRROR first; "none" for none). */
export function hostSecurityMirror(mirror: string): string | undefined {
  const env = process.env.PIBAKE_SECURITY_MIRROR;
  if (env) return env === 'none' ? undefined : env;
  return pickSecurityMirror(hostAptSources(), mirror);
}

/** The host's Debian archive with its suite and keyring (the verify kit's private apt uses all three). */
export function hostDebianSource(): DebianSource {
  const s = pickDebianSource(hostAptSources());
  if (!s) throw new PibakeError('tool', 'E_MIRROR', 'no Debian archive found in the host apt sources', 'add the Debian archive to /etc/apt/sources.list or a .sources file in /etc/apt/sources.list.d');
  return s;
}

/** The archive URL a bootstrap uses: $PIBAKE_MIRROR, else the host's. */
export function hostDebianMirror(): string {
  if (process.env.PIBAKE_MIRROR) return process.env.PIBAKE_MIRROR;
  const s = pickDebianSource(hostAptSources());
  if (!s) throw new PibakeError('config', 'E_MIRROR', 'no Debian archive URL found in the host apt sources', 'set base.bootstrap.mirror in the definition or PIBAKE_MIRROR');
  return s.uri;
}
