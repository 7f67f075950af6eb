// Definition loading: the default image validates with the seed's values; broken input gives one positioned line per problem.
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { loadDefinition, parseDefinition } from '../../builder/definition/load.ts';
import { ConfigError } from '../../builder/errors.ts';
import { didYouMean } from '../../builder/definition/locate.ts';

const problemsOf = (yaml: string) => {
  try {
    parseDefinition(yaml, 'x.yaml');
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
};

describe('image definition', () => {
  it('loads the default image with every seed optimization and fills defaults', () => {
    const { def } = loadDefinition('images/im-server.yaml');
    expect(def.base.bootstrap?.suite).toBe('trixie');
    expect(def.stages.sysctl?.values).toEqual({
      'net.core.rmem_max': 16777216,
      'net.core.wmem_max': 16777216,
      'net.ipv4.tcp_rmem': '4096 87380 16777216',
      'net.ipv4.tcp_wmem': '4096 87380 16777216',
    });
    expect(def.stages.services?.disable).toEqual(expect.arrayContaining(['bluetooth.service', 'cups.service']));
    expect(def.stages.fstab?.root_options).toEqual(['noatime', 'nodiratime']);
    expect(def.stages.packages?.install).toContain('htop');
    const rule = def.stages.logrotate!.rules[0]!;
    expect([rule.frequency, rule.rotate, rule.compress, rule.missingok, rule.notifempty]).toEqual(['weekly', 4, true, true, true]);
    expect(def.stages.cron!.jobs[0]!.schedule).toBe('0 2 * * *');
    expect(def.stages['im-server']).toMatchObject({ log_level: 'info', max_threads: 50 });
    expect(def.stages.journald?.storage).toBe('volatile');
    expect(def.output).toEqual({ dir: 'out', xz_level: 6, extra_space_mb: 256 });
  });

  it('reports every problem at once, each with file:line:col and the field', () => {
    const problems = problemsOf(['name: im', 'base:', '  bootstrap:', '    hostnme: pi', 'stages:', '  sysctl:', '    values:', '      net.core.rmem_max: [1]', '  fstab:', '    root_options: noatime', ''].join('\n'));
    expect(problems).toEqual([
      'x.yaml:4:5 base.bootstrap.hostnme: unknown field; did you mean "hostname"?',
      'x.yaml:8:26 stages.sysctl.values["net.core.rmem_max"]: expected number or string',
      'x.yaml:10:19 stages.fstab.root_options: expected a list, got a string',
    ]);
  });

  it('points a missing required field at its parent and names unknown stages with a suggestion', () => {
    const problems = problemsOf('base:\n  file: a.img\nstages:\n  zramm: {}\n');
    expect(problems).toContain('x.yaml:1:1 name: expected a string, got nothing (the field is required)');
    expect(problems).toContain('x.yaml:4:3 stages.zramm: unknown field; did you mean "zram"?');
  });

  it('requires exactly one base source and a digest with url', () => {
    expect(problemsOf('name: a\nbase:\n  file: a.img\n  url: https://x/y.img.xz\n')[0]).toMatch(/give exactly one of bootstrap, file, url/);
    expect(problemsOf('name: a\nbase:\n  url: https://x/y.img.xz\n')).toEqual(['x.yaml:3:3 base.sha256: url needs sha256 (the digest of the downloaded file)']);
  });

  it('takes only plain http(s) URLs, lowercases the digest, and checks that base.file exists', () => {
    const digest = 'AB'.repeat(32);
    expect(problemsOf(`name: a\nbase:\n  url: file:///etc/passwd\n  sha256: ${digest}\n`)).toEqual(['x.yaml:3:8 base.url: an http:// or https:// URL']);
    expect(problemsOf(`name: a\nbase:\n  url: https://u:p@x/y.img.xz\n  sha256: ${digest}\n`)[0]).toMatch(/^x\.yaml:3:8 base\.url: a URL without user:password@/);
    expect(parseDefinition(`name: a\nbase:\n  url: https://x/y.img.xz\n  sha256: ${digest}\n`, 'x.yaml').base.sha256).toBe('ab'.repeat(32));
    expect(problemsOf('name: a\nbase:\n  file: no-such.img\n')).toEqual([`x.yaml:3:9 base.file: ${process.cwd()}/no-such.img does not exist`]);
    expect(problemsOf('name: a\nbase:\n  file: /dev/zero\n')).toEqual(['x.yaml:3:9 base.file: /dev/zero is not a regular file']);
    expect(problemsOf('name: a\nbase:\n  file: /etc/hostname\n')).toEqual(['x.yaml:3:9 base.file: /etc/hostname is neither a disk image (no partition table) nor an .xz or .zip archive']);
  });

  it('checks bootstrap extra packages, unique user names and one-line ssh keys', () => {
    expect(problemsOf("name: a\nbase:\n  bootstrap:\n    extra_packages: ['a b']\n")).toEqual(['x.yaml:4:22 base.bootstrap.extra_packages[0]: a Debian package name']);
    const users = (accounts: string) => problemsOf(`name: a\nbase:\n  bootstrap: {}\nstages:\n  users:\n    accounts: ${accounts}\n`);
    expect(users('[{name: pi}, {name: pi}]')[0]).toMatch(/accounts\[1\]\.name: "pi" is used twice/);
    expect(users('[{name: pi, ssh_authorized_keys: ["ssh-ed25519 AAAA x\\nssh-rsa BBB evil"]}]')[0]).toMatch(/no line breaks/);
    const ED = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICACJBnuTYYfxYPlSFtqifKPuNXAq2rYyKHc7nXx9dun me@host';
    const RSA = 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQCe8Hc79pTFjaCKpmxaj1HUOgq/XeQSnIq5OS3LqQm8dGGI1Hd+JHNIiYp4+MuJY5I/sP2se/JvBpc3MrKrZs/K/Ge95hF/qIdUd6XdohmdaSRFZ87cQrmzMr18krD6pRaZdpOKqV+rARfP6LWUkBwG2DAwBny24niRLybqWrpmLQ== me@host';
    const ECDSA = 'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBFmfD32w9TK9O+QDc3WXcr96e5EA+w/6exo7wFkq8qzgDHhnD+dpPAAseJvSyHv6zVCYdbDSbZjRZx3UV9LqU2M= me@host';
    const keys = (...k: string[]) => users(`[{name: pi, ssh_authorized_keys: ${JSON.stringify(k)}}]`);
    expect(keys(ED, RSA, ECDSA, `from="10.0.0.0/8",command="echo a b" ${ED}`)).toEqual([]); // real keys, options allowed
    // what sshd would not take: the image would have no way in
    expect(keys('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAII6q4T truncated')[0]).toMatch(/ssh-ed25519 key is not valid base64 \(cut short/);
    expect(keys('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA me@host')[0]).toMatch(/ssh-ed25519 key is cut short/);
    expect(keys(RSA.slice(0, 'ssh-rsa '.length + 24))[0]).toMatch(/ssh-rsa key is cut short or damaged/);
    expect(keys(ECDSA.slice(0, 'ecdsa-sha2-nistp256 '.length + 48))[0]).toMatch(/ecdsa-sha2-nistp256 key is cut short or damaged/);
    expect(keys(ED.replace('ssh-ed25519', 'ssh-rsa'))[0]).toMatch(/the key says it is ssh-ed25519, but the line says ssh-rsa/);
    expect(keys(ED.replace('ssh-ed25519', 'ssh-foo'))[0]).toMatch(/unknown key type ssh-foo/);
  });

  it('im-server.admin: a name and scrypt parameters the server accepts (else it fails at boot, or every login does)', () => {
    const admin = (name: string, hash: string) => problemsOf(`name: a\nbase:\n  bootstrap: {}\nstages:\n  im-server:\n    admin: { name: "${name}", password_hash: "${hash}" }\n`);
    const good = 'scrypt$16384$8$1$c2FsdHNhbHRzYWx0c2FsdA==$' + Buffer.alloc(32, 7).toString('base64');
    expect(admin('admin', good)).toEqual([]);
    expect(admin('-admin', good)[0]).toMatch(/im-server\.admin\.name: a user name: 1–32 of a-z 0-9 _ \. -, not starting with - or \./);
    for (const bad of [good.replace('16384', '99999999999'), good.replace('$8$', '$0$'), 'scrypt$16384$8$1$abc$def', good.replace('16384$8$1', '1048576$32$16')])
      expect(admin('admin', bad)[0]).toMatch(/password_hash: scrypt parameters that cost no more than the server's own hashes/);
  });

  it('reports YAML syntax errors with their position', () => {
    expect(problemsOf('name: a\nbase: [\n')[0]).toMatch(/^x\.yaml:\d+:\d+ YAML: /);
  });

  it('suggests near keys only', () => {
    expect(didYouMean('sysclt', ['sysctl', 'services'])).toBe('sysctl');
    expect(didYouMean('frobnicate', ['sysctl', 'services'])).toBeUndefined();
  });

  it('pibake validate prints one line per problem, exits 2, no stack trace', () => {
    const r = spawnSync('./pibake', ['validate', 'test/fixtures/broken.yaml'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('  hint:'));
    expect(lines.length).toBe(7);
    for (const l of lines) expect(l).toMatch(/^test\/fixtures\/broken\.yaml:\d+:\d+ \S+: /);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a wrong command line gets one line naming the problem and the command to ask for help, exit 2', () => {
    const said = (...args: string[]) => { const r = spawnSync('./pibake', args, { encoding: 'utf8' }); return [r.status, r.stderr.trim()]; };
    expect(said('frob')).toEqual([2, 'pibake: unknown command "frob" (commands: build, validate, plan, verify, doctor, schema)\n  hint: pibake --help']);
    expect(said('build')).toEqual([2, 'pibake: build: missing the image definition to build, e.g. pibake build images/im-server.yaml\n  hint: pibake build --help']);
    expect(said('validate', 'a.yaml', 'b.yaml')).toEqual([2, 'pibake: validate: unexpected argument "b.yaml"\n  hint: pibake validate --help']);
    expect(said('plan', 'images/im-server.yaml', '--outt', 'x')).toEqual([2, 'pibake: plan: unknown option --outt\n  hint: pibake plan --help']);
  });

  it('pibake validate accepts the default image', () => {
    expect(execFileSync('./pibake', ['validate', 'images/im-server.yaml'], { encoding: 'utf8' })).toMatch(/valid \(9 stages/);
  });
});

describe('JSON Schema for editors', () => {
  it('schema/image.schema.json is the current export (regenerate: ./pibake schema > schema/image.schema.json)', async () => {
    const { definitionJsonSchema } = await import('../../builder/definition/schema.ts');
    const { readFileSync } = await import('node:fs');
    expect(JSON.parse(readFileSync('schema/image.schema.json', 'utf8'))).toEqual(definitionJsonSchema());
  });
});
