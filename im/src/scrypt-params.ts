// Which stored scrypt hashes the server can verify: shared by the server's config check and pibake's im-server stage.

/**
 * scrypt$N$r$p$salt$key that the server computes at no more than the cost of its own hashes (N=16384, r=8, p=1):
 * N a power of two from 1024, memory 128·N·r at most 16 MiB, N·r·p at most 2^18 (twice the CPU), a 16–64 byte key.
 * Larger ones would let anyone who knows the name make each login take minutes and gigabytes (a wrong password
 * costs as much as a right one); out-of-range ones would make every login fail.
 */
export function scryptParamsUsable(hash: string): boolean {
  const parts = hash.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const keyBytes = Buffer.from(parts[5]!, 'base64').length;
  return Number.isInteger(Math.log2(n)) && n >= 1024 && r >= 1 && p >= 1 && 128 * n * r <= 16 << 20 && n * r * p <= 1 << 18 && keyBytes >= 16 && keyBytes <= 64;
}
