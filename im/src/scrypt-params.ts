// Which stored scrypt hashes the server can verify: shared by the server's config check and pibake's im-server stage.

/**
 * scrypt$N$r$p$salt$key whose parameters node's scrypt computes within the server's memory bound: N a power of two
 * from 1024 to 1048576, r 1–32, p 1–16, a 16–64 byte key. Out-of-range ones would make every login fail.
 */
export function scryptParamsUsable(hash: string): boolean {
  const parts = hash.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const keyBytes = Buffer.from(parts[5]!, 'base64').length;
  return Number.isInteger(Math.log2(n)) && n >= 1024 && n <= 1 << 20 && r >= 1 && r <= 32 && p >= 1 && p <= 16 && keyBytes >= 16 && keyBytes <= 64;
}
