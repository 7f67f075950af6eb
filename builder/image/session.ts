// Opens a working image for the stages (rootfs loop mount + bootfs folder + chroot prepared) and closes it again.
import { closeSync, openSync, readSync } from 'node:fs';
import path from 'node:path';
import { containerGone, type BuildContainer } from '../container/build-container.ts';
import type { CleanupStack } from '../cleanup.ts';
import { parseSfdiskJson, type PiLayout } from './partitions.ts';

export const SESSION_SCRIPT = '/pibake/image/session.sh';

export interface FatIdentity {
  label: string;
  volumeId: string; // 8 hex digits
}

/** Reads the FAT32 volume id (offset 0x43) and label (0x47) from the boot sector of p1. */
export function readFatIdentity(hostImage: string, layout: PiLayout): FatIdentity {
  const buf = Buffer.alloc(512);
  const h = openSync(hostImage, 'r');
  try {
    readSync(h, buf, 0, 512, layout.boot.start * layout.sectorSize);
  } finally {
    closeSync(h);
  }
  const label = buf.subarray(0x47, 0x47 + 11).toString('latin1').trim();
  return { label: label && label !== 'NO NAME' ? label : 'bootfs', volumeId: buf.readUInt32LE(0x43).toString(16).padStart(8, '0') };
}

export class ImageSession {
  readonly c: BuildContainer;
  readonly hostImage: string;
  layout!: PiLayout;
  private fat!: FatIdentity;
  private releaseChroot?: () => Promise<void>;
  private releaseMount?: () => Promise<void>;

  constructor(c: BuildContainer, hostImage: string) {
    this.c = c;
    this.hostImage = hostImage;
  }

  private step(...args: (string | number)[]) {
    return this.c.exec([SESSION_SCRIPT, ...args.map(String)]);
  }

  /** A cleanup step: nothing to undo when the container (and its mount namespace) is already gone. */
  private stepUnlessGone(name: string): Promise<void> {
    return this.step(name).then(
      () => {},
      (e: unknown) => {
        if (!containerGone(e)) throw e;
      },
    );
  }

  async readLayout(): Promise<PiLayout> {
    this.layout = parseSfdiskJson((await this.c.exec(['sfdisk', '--json', '/build/work.img'])).stdout, path.basename(this.hostImage));
    return this.layout;
  }

  async open(extraMiB: number, cleanups: CleanupStack): Promise<void> {
    await this.readLayout();
    this.fat = readFatIdentity(this.hostImage, this.layout);
    if (extraMiB > 0) {
      await this.step('grow', extraMiB);
      await this.readLayout();
    }
    const { root, boot, sectorSize } = this.layout;
    this.releaseMount = cleanups.push('unmount the image and detach its loop device', () => this.stepUnlessGone('unmount'));
    await this.step('mount-root', root.start * sectorSize, root.size * sectorSize);
    await this.step('copy-boot-out', boot.start * sectorSize);
    this.releaseChroot = cleanups.push('release the chroot (policy-rc.d, resolv.conf, /proc /sys /dev /run)', () => this.stepUnlessGone('chroot-release'));
    await this.step('chroot-prepare');
  }

  /** Undoes the chroot preparation, unmounts, and writes a fresh FAT with the same label and volume id. */
  async close(): Promise<void> {
    await this.releaseChroot?.();
    await this.releaseMount?.();
    const { boot } = this.layout;
    await this.step('write-boot', boot.start, boot.size, this.fat.label, this.fat.volumeId);
  }
}
