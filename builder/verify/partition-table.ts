// Parses `sfdisk --json` output into byte offsets and picks the boot (FAT) and root (Linux) partitions.
import { VerifyError } from './errors.ts';

export interface Partition {
  number: number; // 1-based, as in /dev/vdaN
  offset: number; // bytes
  size: number; // bytes
  type: string; // MBR type hex ("c", "83") or GPT type GUID
}

export interface PartitionTable {
  label: string;
  diskId: string;
  partitions: Partition[];
}

const FAT_TYPES = new Set(['b', 'c', 'e', 'ef', 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b', 'ebd0a0a2-b9e5-4433-87c0-68b6b72699c7']);
const LINUX_TYPES = new Set(['83', '0fc63daf-8483-4772-8e79-3d69d8477de4', 'b921b045-1df0-41c3-af44-4c6f280d3fae']);

export function parseSfdiskJson(json: string, source = 'image'): PartitionTable {
  let pt: { label?: string; id?: string; sectorsize?: number; partitions?: { node: string; start: number; size: number; type: string }[] };
  try {
    pt = JSON.parse(json).partitiontable;
  } catch {
    throw new VerifyError('image', `${source}: cannot read the partition table`, 'is this a disk image (sfdisk --json should list partitions)?');
  }
  if (!pt?.partitions?.length) throw new VerifyError('image', `${source}: no partitions found`, 'pass a full disk image, not a single filesystem');
  const sector = pt.sectorsize ?? 512;
  return {
    label: pt.label ?? 'dos',
    diskId: (pt.id ?? '').replace(/^0x/, '').toLowerCase(),
    partitions: pt.partitions.map((p) => ({
      number: Number(/(\d+)$/.exec(p.node)?.[1] ?? 0),
      offset: p.start * sector,
      size: p.size * sector,
      type: p.type.toLowerCase(),
    })),
  };
}

/** The first FAT partition (bootfs) and the first Linux partition (rootfs). */
export function bootAndRoot(table: PartitionTable, source = 'image'): { boot?: Partition; root: Partition } {
  const boot = table.partitions.find((p) => FAT_TYPES.has(p.type));
  const root = table.partitions.find((p) => LINUX_TYPES.has(p.type));
  if (!root) throw new VerifyError('image', `${source}: no Linux root partition (type 83) found`, 'expected a Raspberry Pi OS layout: p1 FAT bootfs, p2 ext4 rootfs');
  return { boot, root };
}

/** PARTUUID of an MBR partition as fstab and cmdline.txt write it: <disk id>-<NN>. */
export function partUuid(table: PartitionTable, p: Partition): string {
  return `${table.diskId}-${String(p.number).padStart(2, '0')}`;
}
