// Resolves user and group names to numeric ids from an image's own /etc/passwd and /etc/group.
export function parseIdFile(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length >= 3 && f[0]) m.set(f[0], Number(f[2]));
  }
  return m;
}

export function resolveId(name: string | undefined, table: Map<string, number>, what: string): number {
  if (name === undefined || name === 'root') return 0;
  if (/^\d+$/.test(name)) return Number(name);
  const id = table.get(name);
  if (id === undefined) throw new Error(`${what} "${name}" does not exist in the image`);
  return id;
}
