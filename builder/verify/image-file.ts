// Reads files out of a disk image without mounting or loop devices: FAT via mtools, ext4 via debugfs.
import { spawn } from 'node:child_process';
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { hostExec } from '../host/exec.ts';
import { VerifyError } from './errors.ts';
import type { CleanupStack } from '../cleanup.ts';
import { bootAndRoot, parseSfdiskJson, type Partition, type PartitionTable } from './partition-table.ts';

export interface ImageFile {
  /** A raw image path (the decompressed temp file for .img.xz). */
  path: string;
  table: PartitionTable;
  boot?: Partition;
  root: Partition;
}

/**
 * xz writing straight into a regular file keeps zero runs as holes, so the temp file costs only the used blocks.
 * One process, our own child, stopped by the cleanups: a signal to verify alone stops it too.
 */
async function unxzSparse(image: string, dest: string, cleanups: CleanupStack): Promise<void> {
  const out = await open(dest, 'w');
  const xz = spawn('xz', ['-dc', '-T0', '--', image], { stdio: ['ignore', out.fd, 'pipe'] });
  const stopXz = cleanups.push(`stop xz -dc ${image}`, () => void xz.kill());
  let stderr = '';
  xz.stderr!.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((done) => {
    xz.on('error', (e) => ((stderr += e.message), done(null)));
    xz.on('close', done);
  });
  await out.close();
  await stopXz();
  if (code !== 0) throw new VerifyError('input', `cannot decompress ${image}: ${stderr.trim().split('\n').pop()}`, 'check the file is a complete .xz (xz -t) and the temp dir has space');
}

/** Opens an .img or .img.xz (decompressed to a sparse temp file removed by the cleanups) and reads its table. */
export async function openImage(image: string, cleanups: CleanupStack, log: (m: string) => void): Promise<ImageFile> {
  try {
    await stat(image);
  } catch {
    throw new VerifyError('input', `image not found: ${image}`, 'pass the path of a built .img or .img.xz');
  }
  let path = image;
  if (image.endsWith('.xz')) {
    const dir = await mkdtemp(join(process.env.PIBAKE_TMPDIR ?? tmpdir(), 'pibake-verify-img-'));
    cleanups.push(`remove ${dir}`, () => rm(dir, { recursive: true, force: true }));
    path = join(dir, 'image.img');
    log(`decompressing ${image}`);
    const started = Date.now();
    await unxzSparse(image, path, cleanups);
    log(`decompressed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  const { stdout } = await hostExec(['sfdisk', '--json', path]).catch(() => {
    throw new VerifyError('input', `${image}: not a disk image (sfdisk finds no partition table)`, 'give the .img or .img.xz that pibake build wrote');
  });
  const table = parseSfdiskJson(stdout, image);
  return { path, table, ...bootAndRoot(table, image) };
}

const fatSpec = (img: ImageFile): string => {
  if (!img.boot) throw new VerifyError('image', 'the image has no FAT boot partition', 'expected p1 FAT32 bootfs');
  return `${img.path}@@${img.boot.offset}`;
};
const extSpec = (img: ImageFile): string => `${img.path}?offset=${img.root.offset}`;

/** Names in the root of the FAT boot partition. */
export async function listBoot(img: ImageFile): Promise<string[]> {
  const { stdout } = await hostExec(['mdir', '-b', '-i', fatSpec(img), '::/'], { env: { MTOOLS_SKIP_CHECK: '1' } });
  return stdout.split('\n').map((l) => l.trim().replace(/^::\//, '')).filter(Boolean);
}

export async function copyFromBoot(img: ImageFile, name: string, dest: string): Promise<void> {
  await hostExec(['mcopy', '-n', '-o', '-i', fatSpec(img), `::/${name}`, dest], { env: { MTOOLS_SKIP_CHECK: '1' } });
}

export async function readBootText(img: ImageFile, name: string): Promise<string | undefined> {
  const r = await execa('mtype', ['-i', fatSpec(img), `::/${name}`], { reject: false, env: { MTOOLS_SKIP_CHECK: '1' } });
  return r.failed ? undefined : String(r.stdout);
}

/** debugfs prints its errors on stderr and exits 0, so success is judged by the output file. */
async function debugfs(img: ImageFile, request: string): Promise<{ stdout: string; stderr: string }> {
  return hostExec(['debugfs', '-R', request, extSpec(img)], { keepFinalNewline: true, hint: 'is the root partition ext4 (e2fsprogs debugfs reads it)?' });
}

export async function readRootFile(img: ImageFile, path: string): Promise<Buffer | undefined> {
  const r = await execa('debugfs', ['-R', `cat "${path}"`, extSpec(img)], { reject: false, encoding: 'buffer', stripFinalNewline: false });
  const err = Buffer.from(r.stderr as Uint8Array).toString();
  if (/File not found|not found by ext2_lookup|Ext2 inode is not a directory/.test(err)) return undefined;
  if (r.failed) throw new VerifyError('tool', `debugfs cannot read ${path}: ${err.trim().split('\n').pop()}`, 'is the root partition ext4?');
  return Buffer.from(r.stdout as Uint8Array);
}

/** Entry names of a directory in the root filesystem (without . and ..); undefined when absent. */
export async function listRootDir(img: ImageFile, path: string): Promise<string[] | undefined> {
  const { stdout, stderr } = await debugfs(img, `ls -p "${path}"`);
  if (/not found|is not a directory/.test(stderr)) return undefined;
  // ls -p lines: /inode/mode/uid/gid/name/size/
  return stdout
    .split('\n')
    .map((l) => l.split('/'))
    .filter((f) => f.length >= 7)
    .map((f) => f[5]!)
    .filter((n) => n !== '.' && n !== '..' && n !== '');
}

/** Resolves a symlink chain inside the root fs for a few hops (absolute and relative targets). */
export async function rootFileExists(img: ImageFile, path: string): Promise<boolean> {
  const { stderr } = await debugfs(img, `stat "${path}"`);
  return !/not found/.test(stderr);
}

/** Dumps one file of the root fs to a host path. */
export async function dumpRootFile(img: ImageFile, path: string, dest: string): Promise<void> {
  const { stderr } = await debugfs(img, `dump "${path}" "${dest}"`);
  if (/not found/.test(stderr)) throw new VerifyError('image', `${path} not found in the image's rootfs`, 'the image may be incomplete');
  await stat(dest).catch(() => {
    throw new VerifyError('tool', `debugfs could not dump ${path}`, stderr.trim());
  });
}

