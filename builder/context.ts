// The real StageContext: reads and changes the mounted image inside the builder container.
import path from 'node:path';
import { hostStream } from './host/exec.ts';
import type { BuildContainer } from './container/build-container.ts';
import type { FileAttrs, StageContext } from './stage.ts';
import { renderTemplate } from './templates.ts';
import { parseIdFile, resolveId } from './image/ownership.ts';
import { unitFileName } from './image/unit-file.ts';
import { singleFileTar } from './image/tar-entry.ts';
import { PibakeError, ToolError } from './errors.ts';

const TARGET = '/target';
const CHROOT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The builder container's own (amd64) apt, working on the image's sources, lists, cache and dpkg status. */
const NATIVE_APT = [
  `-o`, `Dir=${TARGET}`,
  `-o`, `Dir::Bin::Methods=/usr/lib/apt/methods`,
  `-o`, `Dir::Bin::dpkg=/usr/bin/dpkg`,
  `-o`, `APT::Architecture=arm64`,
  `-o`, `APT::Architectures::=arm64`,
  `-o`, `Acquire::Languages=none`,
];

/** Rejects relative paths and `..` so a stage can only touch the image. */
export function imagePath(p: string): string {
  if (!p.startsWith('/')) throw new PibakeError('stage', 'E_PATH', `path ${p} must be absolute inside the image`);
  const n = path.posix.normalize(p);
  if (n.split('/').includes('..')) throw new PibakeError('stage', 'E_PATH', `path ${p} leaves the image`);
  return n;
}

export function createStageContext(
  c: BuildContainer,
  note: (m: string) => void,
  changed: Set<string>,
  hostArtifact: StageContext['hostArtifact'],
  /** State shared by the contexts of one build (the package indexes are fetched once per build). */
  shared: { aptUpdated: boolean; emulatedApt?: boolean },
): StageContext {
  // The image's users and groups, read once and again only after a command ran in the image (it may add users).
  let idTables: { users: Map<string, number>; groups: Map<string, number> } | undefined;
  const ids = async () =>
    (idTables ??= {
      users: parseIdFile((await c.exec(['cat', `${TARGET}/etc/passwd`])).stdout),
      groups: parseIdFile((await c.exec(['cat', `${TARGET}/etc/group`])).stdout),
    });
  const owner = async (attrs: FileAttrs = {}) => {
    if (!attrs.owner && !attrs.group) return { uid: 0, gid: 0 };
    const t = await ids();
    try {
      return { uid: resolveId(attrs.owner, t.users, 'user'), gid: resolveId(attrs.group ?? attrs.owner, t.groups, 'group') };
    } catch (e: any) {
      throw new PibakeError('stage', 'E_OWNER', e.message, 'create the user first (e.g. in the stage that installs its service)');
    }
  };
  const run: StageContext['run'] = async (argv, opts = {}) => {
    const env = { PATH: CHROOT_PATH, HOME: '/root', LC_ALL: 'C.UTF-8', DEBIAN_FRONTEND: 'noninteractive', ...opts.env };
    const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    idTables = undefined;
    const r = await c.exec(['chroot', TARGET, '/usr/bin/env', '-i', ...envArgs, ...argv], { input: opts.input, display: `${argv.join(' ')} (in the image)` });
    return { stdout: r.stdout, stderr: r.stderr };
  };
  /** Writes one file into the mounted image with exact mode and owner (a one-entry tar through docker exec). */
  const putFile = async (abs: string, data: Buffer, mode: number, uid: number, gid: number) => {
    await c.exec(['mkdir', '-p', path.posix.dirname(TARGET + abs)]);
    await c.exec(['tar', '-x', '-p', '--numeric-owner', '-C', TARGET], { input: singleFileTar(abs, data, mode, uid, gid) });
    changed.add(abs);
  };
  const emulatedInstall = async (packages: string[]) => {
    if (!shared.aptUpdated) {
      await run(['apt-get', 'update', '-q']);
      shared.aptUpdated = true;
    }
    await run(['apt-get', 'install', '-y', '-q', '--no-install-recommends', '-o', 'Dpkg::Options::=--force-confold', ...packages]);
    for (const p of packages) changed.add(`package ${p}`);
  };
  // Every enable/disable is also written as a preset: /etc/machine-id is "uninitialized", so systemd runs
  // preset-all at first boot and would otherwise undo what the stages decided. First match wins: "01-".
  const PRESET = '/etc/systemd/system-preset/01-pibake.preset';
  const recordPreset = async (verb: 'enable' | 'disable', units: string[]) => {
    const old = (await c.exec(['sh', '-c', 'cat "$1" 2>/dev/null || true', 'sh', TARGET + PRESET])).stdout;
    const lines = old.split('\n').filter((l) => l && !units.some((u) => l === `enable ${u}` || l === `disable ${u}`));
    if (!lines.length) lines.push('# Managed by pibake: the unit states the stages chose, kept through first-boot preset-all.');
    lines.push(...units.map((u) => `${verb} ${u}`));
    await putFile(PRESET, Buffer.from(lines.join('\n') + '\n'), 0o644, 0, 0);
  };
  const systemctl = async (verb: 'enable' | 'disable' | 'mask', units: string[]) => {
    await c.exec(['systemctl', `--root=${TARGET}`, verb, ...units]);
    await recordPreset(verb === 'enable' ? 'enable' : 'disable', units);
  };
  return {
    arch: 'arm64',
    note,
    async exists(p) {
      const r = await c.exec(['sh', '-c', 'test -e "$1" || test -L "$1"', 'sh', TARGET + imagePath(p)], { allowFail: true });
      return r.exitCode === 0;
    },
    async readFile(p) {
      return (await c.exec(['cat', TARGET + imagePath(p)])).stdout;
    },
    async writeFile(p, content, attrs = {}) {
      const abs = imagePath(p);
      const { uid, gid } = await owner(attrs);
      await putFile(abs, Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8'), attrs.mode ?? 0o644, uid, gid);
    },
    render: renderTemplate,
    hostArtifact,
    async copyIn(hostPath, p, attrs = {}) {
      const abs = imagePath(p);
      const { uid, gid } = await owner(attrs);
      await c.exec(['mkdir', '-p', TARGET + abs]);
      const tar = hostStream(['tar', '-C', hostPath, '-c', `--owner=${uid}`, `--group=${gid}`, '--numeric-owner', '.']);
      // both awaited together: a host tar killed by Ctrl-C must not reject unobserved while the exec is pending
      await Promise.all([c.exec(['tar', '-x', '-p', '--numeric-owner', '-C', TARGET + abs], { input: tar.stdout, display: `copy ${hostPath} to ${abs}` }), tar.done]);
      changed.add(abs + '/');
    },
    run,
    units: {
      async exists(unit) {
        // list-unit-files lists unit files: an instance exists when its template does
        const r = await c.exec(['systemctl', `--root=${TARGET}`, 'list-unit-files', '--no-legend', '--no-pager', unitFileName(unit)], { allowFail: true });
        return r.stdout.trim().length > 0;
      },
      enable: async (u) => void (await systemctl('enable', u)),
      disable: async (u) => void (await systemctl('disable', u)),
      mask: async (u) => void (await systemctl('mask', u)),
    },
    apt: {
      async install(packages) {
        if (!packages.length) return;
        // Index download and package download run natively (the container's apt on the image's apt state);
        // only dpkg and the maintainer scripts run emulated in the chroot. This is what mmdebstrap does too.
        if (shared.emulatedApt) return emulatedInstall(packages);
        if (!shared.aptUpdated) {
          const u = await c.exec(['apt-get', ...NATIVE_APT, 'update', '-q'], { display: 'apt-get update (native, on the image)', allowFail: true });
          if (u.exitCode !== 0) {
            // only a keyring problem (a Signed-By keyring that exists only inside the image: Pi OS's own archive) is
            // left to the image's apt; anything else (no network, an interrupted build) fails here with apt's own line
            if (!/NO_PUBKEY|GPG error|Signed-By|not signed|signatures couldn't be verified|keyring/i.test(u.stderr))
              throw new ToolError('apt-get update (native, on the image)', u.exitCode, u.stderr, "check the build host's network access to the image's archive (the image's /etc/apt/sources.list*)");
            note(`the builder's apt cannot use the image's sources (${u.stderr.trim().split('\n').pop()}); using apt inside the image (slower)`);
            shared.emulatedApt = true;
            return emulatedInstall(packages);
          }
          shared.aptUpdated = true;
        }
        // Resolve and download natively, then hand dpkg the exact set: an emulated apt-get would spend minutes
        // building its package cache before dpkg even starts.
        await c.sh(`rm -f ${TARGET}/var/cache/apt/archives/*.deb`);
        await c.exec(['apt-get', ...NATIVE_APT, 'install', '-y', '-q', '--download-only', '--no-install-recommends', ...packages], {
          display: `apt-get install ${packages.join(' ')} (resolve and download)`,
          hint: "check the names (and =versions) against the base's archive: Debian trixie arm64 for the bootstrapped base, the image's /etc/apt/sources.list.d otherwise",
        });
        const debs = (await c.sh(`cd ${TARGET}/var/cache/apt/archives && ls -1 | grep '\\.deb$' || true`)).stdout.split('\n').filter(Boolean);
        if (!debs.length) return note(`${packages.join(', ')}: already installed`);
        await run(['dpkg', '--install', '--force-confold', ...debs.map((d) => `/var/cache/apt/archives/${d}`)], { env: { DEBIAN_FRONTEND: 'noninteractive' } });
        // the manifest's record of what the stage changed: the packages dpkg installed (files are dpkg's to list)
        for (const d of debs) changed.add(`package ${decodeURIComponent(d).replace(/\.deb$/, '').split('_').slice(0, 2).join(' ')}`);
        const requested = new Set(packages.map((p) => p.split('=')[0]!.split(':')[0]));
        const deps = debs.map((d) => decodeURIComponent(d).split('_')[0]!).filter((n) => !requested.has(n));
        if (deps.length) await c.exec(['apt-mark', ...NATIVE_APT, 'auto', ...deps], { display: 'apt-mark auto (dependencies)' });
      },
      async purge(packages) {
        if (!packages.length) return;
        await run(['apt-get', 'purge', '-y', '-q', '--auto-remove', ...packages]);
        for (const p of packages) changed.add(`package ${p} purged`);
      },
    },
  };
}
