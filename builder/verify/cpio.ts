// A minimal writer for the cpio "newc" format the kernel unpacks as an initramfs.
export interface CpioEntry {
  path: string; // without leading slash
  mode: number; // full st_mode incl. type bits: 0o040755 dir, 0o100755 file, 0o120777 symlink
  data?: Buffer | string; // file content or symlink target
  rdev?: [number, number]; // major, minor of a device node
}

const hex = (n: number): string => n.toString(16).padStart(8, '0');
const pad4 = (n: number): Buffer => Buffer.alloc((4 - (n % 4)) % 4);

export function cpioNewc(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  const push = (name: string, mode: number, data: Buffer, rdev: [number, number] = [0, 0]): void => {
    const nameBuf = Buffer.from(`${name}\0`);
    const header =
      '070701' + hex(ino++) + hex(mode) + hex(0) + hex(0) + hex((mode & 0o170000) === 0o040000 ? 2 : 1) + hex(0) +
      hex(data.length) + hex(0) + hex(0) + hex(rdev[0]) + hex(rdev[1]) + hex(nameBuf.length) + hex(0);
    parts.push(Buffer.from(header), nameBuf, pad4(110 + nameBuf.length), data, pad4(data.length));
  };
  for (const e of entries) push(e.path.replace(/^\/+/, ''), e.mode, Buffer.from(e.data ?? ''), e.rdev);
  push('TRAILER!!!', 0, Buffer.alloc(0));
  return Buffer.concat(parts);
}
