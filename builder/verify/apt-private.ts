// Downloads arm64 .debs with apt through a private state/cache dir, leaving the host's apt and dpkg config untouched.
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './exec.ts';
import { VerifyError } from './errors.ts';

export interface HostMirror {
  uri: string;
  suite: string;
  keyring?: string;
}

/** The first Debian mirror in the host's apt sources (deb822 or one-line format). */
export async function hostMirror(): Promise<HostMirror> {
  const deb822 = await readFile('/etc/apt/sources.list.d/debian.sources', 'utf8').catch(() => '');
  for (const block of deb822.split(/\n\s*\n/)) {
    const field = (k: string): string | undefined => new RegExp(`^${k}:\\s*(.+)$`, 'mi').exec(block)?.[1]?.trim();
    const uri = field('URIs')?.split(/\s+/)[0];
    const suite = field('Suites')?.split(/\s+/)[0];
    if (uri && suite && /deb\b/.test(field('Types') ?? 'deb') && !/security/.test(suite)) {
      return { uri, suite, keyring: field('Signed-By') };
    }
  }
  const list = await readFile('/etc/apt/sources.list', 'utf8').catch(() => '');
  for (const line of list.split('\n')) {
    const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line.trim());
    if (m && !/security/.test(m[2]!)) return { uri: m[1]!, suite: m[2]! };
  }
  throw new VerifyError('kit', 'no Debian mirror found in the host apt sources', 'add a deb line to /etc/apt/sources.list or /etc/apt/sources.list.d/debian.sources');
}

export class PrivateApt {
  readonly dir: string;
  constructor(dir: string) {
    this.dir = dir;
  }

  private opts(): string[] {
    const d = this.dir;
    return [
      '-q',
      '-o', `Dir::State=${d}/state`,
      '-o', `Dir::State::status=${d}/state/status`,
      '-o', `Dir::Cache=${d}/cache`,
      '-o', `Dir::Etc::SourceList=${d}/sources.list`,
      '-o', 'Dir::Etc::SourceParts=/dev/null',
      '-o', 'APT::Architecture=arm64',
      '-o', 'APT::Architectures=arm64',
      '-o', 'APT::Sandbox::User=root',
    ];
  }

  /** Writes the private sources list for the host's mirror and runs apt-get update. */
  async update(mirror: HostMirror): Promise<void> {
    await mkdir(join(this.dir, 'state/lists/partial'), { recursive: true });
    await mkdir(join(this.dir, 'cache/archives/partial'), { recursive: true });
    await writeFile(join(this.dir, 'state/status'), '');
    const signed = mirror.keyring ? ` signed-by=${mirror.keyring}` : '';
    await writeFile(join(this.dir, 'sources.list'), `deb [arch=arm64${signed}] ${mirror.uri} ${mirror.suite} main\n`);
    await run(['apt-get', ...this.opts(), 'update'], { hint: 'the host needs network access to its Debian mirror' });
  }

  /** The package a metapackage (e.g. linux-image-arm64) depends on, matching a prefix. */
  async resolveDepends(pkg: string, prefix: string): Promise<string> {
    const { stdout } = await run(['apt-cache', ...this.opts(), 'depends', pkg]);
    const dep = stdout.split('\n').map((l) => /Depends:\s*(\S+)/.exec(l)?.[1]).find((n) => n?.startsWith(prefix));
    if (!dep) throw new VerifyError('kit', `cannot resolve ${pkg} in the arm64 package lists`, 'run again; if it persists the mirror may be incomplete');
    return dep;
  }

  /** Downloads packages into `dest` and returns the .deb paths. */
  async download(packages: string[], dest: string): Promise<string[]> {
    await mkdir(dest, { recursive: true });
    await run(['apt-get', ...this.opts(), 'download', ...packages], { cwd: dest, hint: 'the host needs network access to its Debian mirror' });
    const files = await readdir(dest);
    return packages.map((p) => {
      const f = files.find((n) => n.startsWith(`${p}_`) && n.endsWith('.deb'));
      if (!f) throw new VerifyError('kit', `apt did not download ${p}`, 'check the mirror has arm64 packages');
      return join(dest, f);
    });
  }
}
