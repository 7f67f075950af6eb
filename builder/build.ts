// The build pipeline: definition → base → working copy → builder container → stages → outputs, releasing everything.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { hostExec } from './host/exec.ts';
import path from 'node:path';
import { withCleanups } from './cleanup.ts';
import { assertEngine } from './container/docker.ts';
import { ensureBuilderImage } from './container/builder-image.ts';
import { buildWorkPid, cacheTempPid, removeStaleDirs } from './host/stale-dirs.ts';
import { removeOrphanContainers, startBuildContainer } from './container/build-container.ts';
import { resolveBase } from './base/resolve.ts';
import { ImageSession } from './image/session.ts';
import { createStageContext } from './context.ts';
import { writeOutputs, outputNames } from './output/write.ts';
import { missingDirs, prepareOutputDir, removeIfEmpty } from './output/prepare-dir.ts';
import { ensureImBundle } from './artifacts/im-bundle.ts';
import { assertFreeSpace, buildSpaceNeeds } from './host/free-space.ts';
import { InterruptedError, PibakeError, StageError } from './errors.ts';
import { builderVersion, cacheDir, projectRoot } from './paths.ts';
import { stages } from '../stages/index.ts';
import type { LoadedDefinition } from './definition/load.ts';
import type { Reporter } from './reporter.ts';

export interface BuildOptions {
  reporter: Reporter;
  outDir?: string;
}

export interface BuildResult {
  image: string;
  manifest: string;
}

export async function build(loaded: LoadedDefinition, opts: BuildOptions): Promise<BuildResult> {
  const { def } = loaded;
  const r = opts.reporter;
  const names = outputNames(path.resolve(opts.outDir ?? def.output.dir), def.output.name ?? def.name);
  const badOut = (what: string) => new PibakeError('config', 'E_OUT', `output directory: ${what}`, 'choose a writable directory with --out or output.dir');
  if (opts.outDir === '') throw badOut('--out is empty'); // path.resolve('') is the current directory, silently
  if (names.dir.includes(':')) throw badOut(`${names.dir} contains ":" (Docker bind syntax)`);
  const created = missingDirs(names.dir); // removed again if the build fails or is interrupted (and they are empty)
  prepareOutputDir(names.dir, badOut); // before any work: a bad --out fails in a second, not after the base
  return withCleanups('the build', r, async (cleanups, signal) => {
    cleanups.push('remove the output directory this build made, if it stayed empty', () => {
      if (!existsSync(names.xz)) removeIfEmpty(created);
    });
    const checkAbort = () => {
      if (signal.aborted) throw new InterruptedError('SIGINT');
    };
    await assertEngine();
    for (const name of await removeOrphanContainers()) r.warn(`removed ${name}, left by a pibake run that was killed`);
    for (const name of removeStaleDirs(cacheDir('builds'), buildWorkPid)) r.warn(`removed work directory ${name}, left by a pibake run that was killed`);
    for (const name of removeStaleDirs(cacheDir('base'), cacheTempPid)) r.warn(`removed unfinished base ${name}, left by a pibake run that was killed`);
    const builderImage = await ensureBuilderImage(r, cleanups);
    checkAbort();
    const base = await resolveBase(def.base, { reporter: r, cleanups, builderImage, definitionDir: loaded.dir, signal });
    checkAbort();

    mkdirSync(cacheDir('builds'), { recursive: true });
    assertFreeSpace(buildSpaceNeeds(base.image, def.output.extra_space_mb, cacheDir('builds'), names.dir)); // not at xz, 5 minutes in
    const work = mkdtempSync(path.join(cacheDir('builds'), `${def.name}-${process.pid}-`)); // the pid lets a later run judge it
    cleanups.push(`remove ${work}`, () => rmSync(work, { recursive: true, force: true }));
    const hostImage = path.join(work, 'work.img');
    const copy = r.step('working copy of the base');
    await hostExec(['cp', '--sparse=always', '--reflink=auto', base.image, hostImage]);
    copy.done();
    checkAbort();

    const c = await startBuildContainer(
      builderImage,
      [
        { host: work, container: '/build' },
        { host: path.join(projectRoot, 'builder'), container: '/pibake', readOnly: true },
        { host: names.dir, container: '/out' },
      ],
      cleanups,
      { name: `pibake-build-${def.name}-${process.pid}`, debug: r.debug },
    );
    const session = new ImageSession(c, hostImage);
    const open = r.step('open the image (rootfs loop mount, bootfs via mtools)');
    await session.open(def.output.extra_space_mb, cleanups);
    open.done(`p1 @${session.layout.boot.start}, p2 @${session.layout.root.start}, disk id ${session.layout.diskId}`);

    const stageReports: { name: string; duration_ms: number; changed: string[] }[] = [];
    const shared = { aptUpdated: false };
    for (const stage of stages) {
      const cfg = (def.stages as Record<string, unknown>)[stage.name];
      if (cfg === undefined) continue;
      checkAbort();
      const changed = new Set<string>();
      const ctx = createStageContext(c, (m) => r.info(`${stage.name}: ${m}`), changed, async (name) => {
        if (name === 'im-bundle') return ensureImBundle('arm64', r);
        throw new PibakeError('stage', 'E_ARTIFACT', `unknown artifact ${name}`);
      }, shared);
      const s = r.step(`stage ${stage.name}: ${stage.description}`);
      try {
        await stage.apply(ctx, cfg as never);
      } catch (e) {
        s.fail();
        if (signal.aborted) throw new InterruptedError('SIGINT');
        throw new StageError(stage.name, e);
      }
      stageReports.push({ name: stage.name, duration_ms: s.done(), changed: [...changed].sort() });
    }

    const pk = await c.exec(['dpkg-query', '--admindir=/target/var/lib/dpkg', '-W', '-f', '${Package}\t${Version}\n']);
    const packages = pk.stdout.trim().split('\n').map((l) => {
      const [name, version] = l.split('\t');
      return { name, version };
    });
    const close = r.step('close the image (fresh FAT with the same label and id, unmount, detach)');
    await session.close();
    close.done();
    checkAbort();

    await writeOutputs(
      c,
      names,
      def.output.xz_level,
      (facts) => ({
        builder: { name: 'pibake', version: builderVersion },
        created: new Date().toISOString(),
        definition: { file: path.relative(process.cwd(), loaded.file), name: def.name, sha256: loaded.hash },
        base: { kind: base.kind, digest: base.digest, ...(base.info ? { info: base.info } : {}) },
        image: { file: path.basename(names.xz), sha256: facts.sha256, xz_bytes: facts.xzBytes, raw_bytes: facts.rawBytes, raw_sha256: facts.rawSha256, disk_id: session.layout.diskId, bmap: path.basename(names.bmap) },
        stages: stageReports,
        packages,
      }),
      { name: def.name, description: def.description ?? `pibake image ${def.name}` },
      hostImage,
      r,
      cleanups,
    );
    return { image: names.xz, manifest: names.manifest };
  });
}
