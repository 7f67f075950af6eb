// Picks the kernel to boot on qemu virt (the image's own generic arm64 kernel, else Debian's) and its initramfs modules.
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { copyFromBoot, dumpRootFile, listBoot, listRootDir, readBootText, readRootFile, rootFileExists, type ImageFile } from './image-file.ts';
import { ensureDebianKernel } from './kit.ts';
import { INITRAMFS_MODULES, loadOrder, moduleBytes, parseModulesDep } from './kernel-modules.ts';
import { VerifyError } from './errors.ts';
import type { CleanupStack } from '../cleanup.ts';

export interface BootMedia {
  kernel: string; // host path
  kernelVersion: string;
  kernelSource: 'image' | 'debian';
  modules: { name: string; bytes: Buffer }[];
  modulesDisk?: string; // only for a Pi kernel image: Debian's modules, mounted in the overlay
  cmdlineTxt?: string;
}

const genericVersion = (name: string): string | undefined => {
  const v = /^vmlinuz-(.+)$/.exec(name)?.[1];
  return v && !/rpi|raspi|v8-16k|2712/.test(v) ? v : undefined;
};

/** A generic arm64 kernel of the image whose modules are in the rootfs: vmlinuz-<ver> on bootfs, else in /boot. */
async function imageKernel(img: ImageFile): Promise<{ version: string; on: 'bootfs' | 'rootfs' } | undefined> {
  const candidates: { version: string; on: 'bootfs' | 'rootfs' }[] = [];
  if (img.boot) for (const n of await listBoot(img)) { const v = genericVersion(n); if (v) candidates.push({ version: v, on: 'bootfs' }); }
  for (const n of (await listRootDir(img, '/boot')) ?? []) { const v = genericVersion(n); if (v) candidates.push({ version: v, on: 'rootfs' }); }
  candidates.sort((a, b) => b.version.localeCompare(a.version, 'en', { numeric: true }));
  for (const c of candidates) if (await rootFileExists(img, `/usr/lib/modules/${c.version}/modules.dep`)) return c;
  return undefined;
}

export async function prepareBootMedia(img: ImageFile, workDir: string, log: (m: string) => void, cleanups: CleanupStack): Promise<BootMedia> {
  const cmdlineTxt = img.boot ? await readBootText(img, 'cmdline.txt') : undefined;
  const found = await imageKernel(img);
  if (found) {
    const { version } = found;
    log(`booting the image's own kernel ${version} (from ${found.on})`);
    const kernel = join(workDir, 'vmlinuz');
    if (found.on === 'bootfs') await copyFromBoot(img, `vmlinuz-${version}`, kernel);
    else await dumpRootFile(img, `/boot/vmlinuz-${version}`, kernel);
    const dep = await readRootFile(img, `/usr/lib/modules/${version}/modules.dep`);
    const index = parseModulesDep(dep!.toString());
    const modules = [];
    for (const name of loadOrder(index, INITRAMFS_MODULES)) {
      const path = index.get(name)!.path;
      const raw = await readRootFile(img, `/usr/lib/modules/${version}/${path}`);
      if (!raw) throw new VerifyError('image', `module ${path} listed in modules.dep is missing`, 'the image kernel install looks broken');
      modules.push({ name, bytes: await moduleBytes(path, raw) });
    }
    return { kernel, kernelVersion: version, kernelSource: 'image', modules, cmdlineTxt };
  }
  log("the image's kernel does not boot on qemu virt: using Debian's linux-image-arm64 with its modules in the overlay");
  const deb = await ensureDebianKernel(log, cleanups);
  const modules = [];
  for (const name of loadOrder(deb.index, INITRAMFS_MODULES)) {
    const path = deb.index.get(name)!.path;
    modules.push({ name, bytes: await moduleBytes(path, await readFile(join(deb.modulesRoot, path))) });
  }
  return { kernel: deb.vmlinuz, kernelVersion: deb.version, kernelSource: 'debian', modules, modulesDisk: deb.modulesDisk, cmdlineTxt };
}
