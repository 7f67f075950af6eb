// Reads an MBR partition table (sfdisk --json output) into the two Pi OS partitions, checking the Lite layout.
import { PibakeError } from '../errors.ts';

export interface Partition {
  index: number;
  start: number; // sectors
  size: number; // sectors
  type: string;
}

export interface PiLayout {
  diskId: string; // 8 lowercase hex digits, as in PARTUUID=<id>-02
  sectorSize: number;
  boot: Partition;
  root: Partition;
}

export function parseSfdiskJson(json: string, what: string): PiLayout {
  let t: any;
  try {
    t = JSON.parse(json).partitiontable;
  } catch {
    throw new PibakeError('tool', 'E_LAYOUT', `${what}: sfdisk could not read a partition table`);
  }
  if (!t || t.label !== 'dos')
    throw new PibakeError('config', 'E_LAYOUT', `${what}: expected an MBR (dos) partition table, found ${t?.label ?? 'none'}`, 'give a Raspberry Pi OS image (.img)');
  const parts: Partition[] = (t.partitions ?? []).map((p: any, i: number) => ({ index: i + 1, start: p.start, size: p.size, type: String(p.type) }));
  const boot = parts[0];
  const root = parts[1];
  if (!boot || !root || !['c', 'b', 'e'].includes(boot.type) || root.type !== '83')
    throw new PibakeError('config', 'E_LAYOUT', `${what}: expected p1 FAT (type c) and p2 Linux (83), found ${parts.map((p) => p.type).join(', ')}`, 'the base must have the Raspberry Pi OS Lite layout');
  return { diskId: String(t.id).replace(/^0x/, '').toLowerCase().padStart(8, '0'), sectorSize: t.sectorsize ?? 512, boot, root };
}
