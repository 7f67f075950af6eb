// Resolves kernel module dependencies (modules.dep or the modules' own modinfo) into an insmod load order.
import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { execa } from 'execa';

/** module name -> { path relative to /usr/lib/modules/<ver>, names it depends on } */
export type ModuleIndex = Map<string, { path: string; deps: string[] }>;

export function moduleName(path: string): string {
  return path.split('/').pop()!.replace(/\.ko(\.(xz|zst|gz))?$/, '').replace(/-/g, '_');
}

/** Parses modules.dep ("kernel/a.ko.xz: kernel/b.ko.xz kernel/c.ko.xz"). */
export function parseModulesDep(text: string): ModuleIndex {
  const index: ModuleIndex = new Map();
  for (const line of text.split('\n')) {
    const m = /^([^:\s]+):\s*(.*)$/.exec(line.trim());
    if (!m) continue;
    index.set(moduleName(m[1]!), { path: m[1]!, deps: m[2]!.split(/\s+/).filter(Boolean).map(moduleName) });
  }
  return index;
}

/** Names from the `depends=` field in a module's .modinfo section. */
export function modinfoDepends(ko: Buffer): string[] {
  const key = Buffer.from('\0depends=');
  const at = ko.indexOf(key);
  if (at < 0) return [];
  const start = at + key.length;
  const end = ko.indexOf(0, start);
  return ko.subarray(start, end).toString().split(',').filter(Boolean).map((n) => n.replace(/-/g, '_'));
}

/** Uncompresses a module file's bytes (.ko.xz / .ko.zst / .ko.gz) with the host tools; plain .ko passes through. */
export async function moduleBytes(path: string, data: Buffer): Promise<Buffer> {
  const tool = path.endsWith('.xz') ? 'xz' : path.endsWith('.zst') ? 'zstd' : path.endsWith('.gz') ? 'gzip' : undefined;
  if (!tool) return data;
  const r = await execa(tool, ['-dc'], { input: data, encoding: 'buffer' });
  return Buffer.from(r.stdout as Uint8Array);
}

/** Builds an index by reading every module under an extracted /lib/modules/<ver> tree (no depmod on the host). */
export async function indexModuleTree(root: string): Promise<ModuleIndex> {
  const index: ModuleIndex = new Map();
  const files = (await readdir(root, { recursive: true })).filter((f) => /\.ko(\.(xz|zst|gz))?$/.test(f));
  for (const f of files) {
    const bytes = await moduleBytes(f, await readFile(join(root, f)));
    index.set(moduleName(f), { path: relative(root, join(root, f)), deps: modinfoDepends(bytes) });
  }
  return index;
}

/** Dependencies first, each module once; names absent from the index (built in) are skipped. */
export function loadOrder(index: ModuleIndex, wanted: string[]): string[] {
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (name: string): void => {
    const n = name.replace(/-/g, '_');
    if (seen.has(n)) return;
    seen.add(n);
    const entry = index.get(n);
    if (!entry) return;
    for (const d of entry.deps) visit(d);
    order.push(n);
  };
  wanted.forEach(visit);
  return order;
}

/** What the initramfs loads before it can mount an ext4 root on virtio-blk. */
export const INITRAMFS_MODULES = ['virtio_mmio', 'virtio_pci', 'virtio_blk', 'crc32c_generic', 'crc32c', 'ext4'];
