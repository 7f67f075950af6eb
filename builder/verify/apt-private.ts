// Downloads arm64 .debs with apt through a private state/cache dir, leaving the host's apt and dpkg config untouched.
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hostExec } from '../host/exec.ts';
import type { DebianSource } from '../host/mirror.ts';
import { VerifyError } from './errors.ts';

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
  async update(mirror: DebianSource): Promise<void> {
    await mkdir(join(this.dir, 'state/lists/partial'), { recursive: true });
    await mkdir(join(this.dir, 'cache/archives/partial'), { recursive: true });
    await writeFile(join(this.dir, 'state/status'), '');
    const signed = mirror.keyring ? ` signed-by=${mirror.keyring}` : '';
    await writeFile(join(this.dir, 'sources.list'), `deb [arch=arm64${signed}] ${mirror.uri} ${mirror.suite} main\n`);
    await hostExec(['apt-get', ...this.opts(), 'update'], { hint: 'the host needs network access to its Debian mirror' });
  }

  /** The package a metapackage (e.g. linux-image-arm64) depends on, matching a prefix. */
  async resolveDepends(pkg: string, prefix: string): Promise<string> {
    const { stdout } = await hostExec(['apt-cache', ...this.opts(), 'depends', pkg]);
    const dep = stdout.split('\n').map((l) => /Depends:\s*(\S+)/.exec(l)?.[1]).find((n) => n?.startsWith(prefix));
    if (!dep) throw new VerifyError('kit', `cannot resolve ${pkg} in the arm64 package lists`, 'run again; if it persists the mirror may be incomplete');
    return dep;
  }

  /** Downloads packages into `dest` and returns the .deb paths. */
  async download(packages: string[], dest: string): Promise<string[]> {
    await mkdir(dest, { recursive: true });
    await hostExec(['apt-get', ...this.opts(), 'download', ...packages], { cwd: dest, hint: 'the host needs network access to its Debian mirror' });
    const files = await readdir(dest);
    return packages.map((p) => {
      const f = files.find((n) => n.startsWith(`${p}_`) && n.endsWith('.deb'));
      if (!f) throw new VerifyError('kit', `apt did not download ${p}`, 'check the mirror has arm64 packages');
      return join(dest, f);
    });
  }
}
