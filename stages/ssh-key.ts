// Checks an authorized_keys line the way sshd will read it: optional options, a known key type, and a base64 key
// whose own type field matches (a truncated or pasted-wrong key would leave an image nobody can log in to).

const TYPES = new Set([
  'ssh-ed25519', 'ssh-rsa', 'ssh-dss', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com', 'sk-ecdsa-sha2-nistp256@openssh.com',
]);
const LINE = /^(?:(.+?) )?((?:ssh|ecdsa|sk)-[A-Za-z0-9@.+-]+) ([A-Za-z0-9+/]+={0,2})(?: [^\n\r]*)?$/;

/** Why `line` is not a usable OpenSSH public key line, or null. */
export function sshKeyProblem(line: string): string | null {
  if (/[\r\n]/.test(line)) return 'one key per line: no line breaks';
  const m = LINE.exec(line);
  if (!m) return 'an OpenSSH public key line: [options] type base64-key [comment], e.g. "ssh-ed25519 AAAAC3Nza… me@laptop"';
  const [, , type, b64] = m as unknown as [string, string | undefined, string, string];
  const base = type.replace(/-cert-v01@openssh\.com$/, '');
  if (!TYPES.has(base)) return `unknown key type ${type} (ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256/384/521, sk-… are known)`;
  const blob = Buffer.from(b64, 'base64');
  if (blob.toString('base64').replace(/=+$/, '') !== b64.replace(/=+$/, '')) return `the ${type} key is not valid base64 (cut short or mistyped?)`;
  const n = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
  const inner = n > 0 && 4 + n <= blob.length ? blob.subarray(4, 4 + n).toString('latin1') : '';
  if (inner !== type) return inner ? `the key says it is ${inner}, but the line says ${type}` : `the ${type} key is cut short or is not an OpenSSH public key`;
  if (type !== base) return null; // a certificate: its many fields are sshd's to read
  const fields = sshStrings(blob);
  if (!fields || fields.length !== FIELDS[base] || (base === 'ssh-ed25519' && fields[1]!.length !== 32)) return `the ${type} key is cut short or damaged (its fields do not add up)`;
  return null;
}

/** How many length-prefixed fields each key type's blob holds (type name included). */
const FIELDS: Record<string, number> = {
  'ssh-ed25519': 2, 'ssh-rsa': 3, 'ssh-dss': 5, 'ecdsa-sha2-nistp256': 3, 'ecdsa-sha2-nistp384': 3, 'ecdsa-sha2-nistp521': 3,
  'sk-ssh-ed25519@openssh.com': 3, 'sk-ecdsa-sha2-nistp256@openssh.com': 4,
};

/** The blob split into its uint32-length-prefixed fields, or null when they do not fill it exactly. */
function sshStrings(blob: Buffer): Buffer[] | null {
  const out: Buffer[] = [];
  for (let at = 0; at < blob.length;) {
    if (at + 4 > blob.length) return null;
    const n = blob.readUInt32BE(at);
    if (at + 4 + n > blob.length) return null;
    out.push(blob.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return out;
}
