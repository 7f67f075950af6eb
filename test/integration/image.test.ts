// The default image, built by the real CLI in Docker, inspected with real tools: layout, filesystems, boot chain, stages.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { listInitramfs } from '../support/initramfs.ts';
import { extractPartition, openInContainer, sh, unpackImage, type Unpacked } from '../support/image-tools.ts';
import type { BuildContainer } from '../../builder/container/build-container.ts';
import { loadDefinition } from '../../builder/definition/load.ts';
import { createStageContext } from '../../builder/context.ts';
import users from '../../stages/users.ts';

const image = inject('builtImage');
const def = loadDefinition('images/im-server.yaml').def;
let u: Unpacked;
let p1: string;
let p2: string;
let box: { c: BuildContainer; close: () => Promise<void> };
const inImage = async (script: string, allowFail = false) => box.c.sh(script, { allowFail });

beforeAll(async () => {
  u = unpackImage(image);
  // Copies of the partitions as built, taken before the inspection container mounts the rootfs.
  p1 = extractPartition(u, 1);
  p2 = extractPartition(u, 2);
  box = await openInContainer(u.raw);
}, 600_000);

afterAll(async () => {
  await box?.close();
  u?.remove();
});

describe('outputs', () => {
  it('the .sha256 file checks out with sha256sum and the manifest records the build', () => {
    expect(sh(`cd '${path.dirname(image)}' && sha256sum -c im-server.img.xz.sha256`)).toMatch(/im-server\.img\.xz: OK/);
    const m = JSON.parse(readFileSync(path.join(path.dirname(image), 'im-server.manifest.json'), 'utf8'));
    expect(m.builder.name).toBe('pibake');
    expect(m.definition.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(m.base.digest).toMatch(/^bootstrap:[0-9a-f]{64}$/);
    expect(m.stages.map((s: any) => s.name)).toEqual(['packages', 'zram', 'im-server', 'services', 'sysctl', 'fstab', 'journald', 'logrotate', 'cron']);
    for (const s of m.stages) expect(s.duration_ms).toBeGreaterThan(0);
    const pk = Object.fromEntries(m.packages.map((p: any) => [p.name, p.version]));
    expect(pk.htop).toMatch(/^\d/);
    expect(pk['zram-tools']).toMatch(/^\d/);
    expect(pk['raspi-firmware']).toMatch(/^\d/);
  });
});

describe('Raspberry Pi OS Lite layout', () => {
  it('MBR with bootfs FAT32 512 MiB at sector 16384 and rootfs ext4 at 1064960', () => {
    expect(u.sfdisk.label).toBe('dos');
    const [p1, p2] = u.sfdisk.partitions;
    expect([p1.start, p1.size, p1.type]).toEqual([16384, 1048576, 'c']);
    expect([p2.start, p2.type]).toEqual([1064960, '83']);
  });

  it('fsck.vfat -n and e2fsck -fn find both filesystems clean, with the Pi OS labels', () => {
    expect(sh(`fsck.vfat -n '${p1}'`)).not.toMatch(/differences|corrupt/i);
    expect(sh(`MTOOLS_SKIP_CHECK=1 mlabel -s -i '${p1}' ::`).trim()).toMatch(/bootfs/i);
    sh(`e2fsck -fn '${p2}'`);
    expect(sh(`e2label '${p2}'`).trim()).toBe('rootfs');
  });

  it('fstab and cmdline.txt name the partitions by PARTUUID = MBR disk id', async () => {
    const id = u.layout.diskId;
    expect(sh(`dd if='${u.raw}' bs=1 skip=440 count=4 status=none | od -An -tx4 | tr -d ' \\n'`)).toBe(id);
    const cmdline = u.bootFile('cmdline.txt');
    expect(cmdline.split('\n').filter(Boolean)).toHaveLength(1);
    expect(cmdline).toMatch(new RegExp(`(^| )root=PARTUUID=${id}-02( |$)`));
    const fstab = (await inImage('cat /target/etc/fstab')).stdout;
    expect(fstab).toMatch(new RegExp(`^PARTUUID=${id}-01\\s+/boot/firmware\\s+vfat`, 'm'));
    expect(fstab).toMatch(new RegExp(`^PARTUUID=${id}-02\\s+/\\s+ext4\\s+defaults,noatime,nodiratime\\s+0\\s+1$`, 'm'));
  });

  it('machine-id is uninitialized and there are no ssh host keys', async () => {
    expect((await inImage('cat /target/etc/machine-id')).stdout.trim()).toBe('uninitialized');
    expect((await inImage('ls /target/etc/ssh/ | grep -c ^ssh_host_ || true')).stdout.trim()).toBe('0');
  });
});

describe('boot chain (Pi 4 and Pi 5)', () => {
  it('config.txt names a kernel and initramfs that exist, and the Pi 4/5 device trees are there', () => {
    const config = u.bootFile('config.txt');
    const listing = sh(`MTOOLS_SKIP_CHECK=1 mdir -b -i '${u.raw}@@${u.layout.boot.start * 512}' ::/`).split('\n').map((l) => l.replace(/^::\//, '').trim());
    const kernel = config.match(/^kernel=(\S+)$/m)?.[1];
    const initramfs = config.match(/^initramfs (\S+)/m)?.[1];
    expect(kernel).toBeDefined();
    expect(initramfs).toBeDefined();
    expect(listing).toContain(kernel);
    expect(listing).toContain(initramfs);
    expect(listing).toContain('bcm2711-rpi-4-b.dtb');
    expect(listing).toContain('bcm2712-rpi-5-b.dtb');
  });

  it('the initramfs holds the SD card, USB storage and ext4 drivers', async () => {
    const config = u.bootFile('config.txt');
    const initramfs = config.match(/^initramfs (\S+)/m)![1]!;
    const cpio = path.join(u.dir, 'initrd');
    sh(`MTOOLS_SKIP_CHECK=1 mcopy -n -i '${u.raw}@@${u.layout.boot.start * 512}' '::${initramfs}' '${cpio}'`);
    const list = listInitramfs(readFileSync(cpio)).join('\n');
    const kver = initramfs.replace(/^initrd\.img-/, '');
    const builtin = (await inImage(`cat /target/usr/lib/modules/${kver}/modules.builtin`)).stdout;
    const has = (mod: string) => new RegExp(`/${mod}\\.ko(\\.[a-z]+)?$`, 'm').test(list) || new RegExp(`/${mod}\\.ko$`, 'm').test(builtin);
    for (const mod of ['mmc_block', 'sdhci', 'sdhci-iproc', 'usb-storage', 'ext4']) expect(has(mod), `${mod} in the initramfs or built in`).toBe(true);
  });
});

describe('what the stages wrote', () => {
  const expected: [string, string][] = [
    ['/etc/sysctl.d/90-pibake-network.conf', '644 root root'],
    ['/etc/default/zramswap', '644 root root'],
    ['/etc/systemd/journald.conf.d/90-pibake.conf', '644 root root'],
    ['/etc/logrotate.d/pibake-im', '644 root root'],
    ['/etc/cron.d/pibake-im-backup', '644 root root'],
    ['/etc/pibake-im/config.yaml', '640 root pibake-im'],
    ['/etc/systemd/system/pibake-im.service', '644 root root'],
    ['/opt/pibake-im/node', '755 root root'],
  ];
  it.each(expected)('%s is there with mode and owner %s', async (file, attrs) => {
    expect((await inImage(`chroot /target stat -c '%a %U %G' '${file}'`)).stdout.trim()).toBe(attrs);
  });

  it('systemctl --root reports the disabled units disabled and the wanted ones enabled', async () => {
    const state = async (u: string) => (await inImage(`systemctl --root=/target is-enabled ${u} 2>&1 || true`)).stdout.trim();
    expect(await state('bluetooth.service')).toBe('disabled');
    expect(await state('zramswap.service')).toBe('enabled');
    expect(await state('pibake-im.service')).toBe('enabled');
    // Every unit the definition disables is disabled, or absent from the base (the stage reports and skips those).
    for (const unit of def.stages.services!.disable) expect(['disabled', 'not-found'], unit).toContain(await state(unit));
  });

  it('the sysctl drop-in holds the seed values', async () => {
    const text = (await inImage('cat /target/etc/sysctl.d/90-pibake-network.conf')).stdout;
    expect(text).toMatch(/^net\.ipv4\.tcp_rmem = 4096 87380 16777216$/m);
    expect(text).toMatch(/^net\.core\.wmem_max = 16777216$/m);
  });

  it('systemd-analyze verify accepts the hardened unit, and htop runs', async () => {
    await inImage('chroot /target systemd-analyze verify --man=no /etc/systemd/system/pibake-im.service');
    expect((await inImage('chroot /target htop --version')).stdout).toMatch(/htop \d/);
  });

  it('logrotate -d accepts the rule inside the image, and the log it names is the one the server writes', async () => {
    await inImage('chroot /target logrotate -d /etc/logrotate.d/pibake-im');
    // Start the real server in the chroot as its user (as systemd would: LogsDirectory/StateDirectory made first).
    const r = await inImage(
      [
        'chroot /target install -d -o pibake-im -g pibake-im -m 0750 /var/log/pibake-im /var/lib/pibake-im',
        'chroot /target runuser -u pibake-im -- /opt/pibake-im/bin/pibake-im --config /etc/pibake-im/config.yaml >/tmp/im.log 2>&1 &',
        'for i in $(seq 1 120); do chroot /target /opt/pibake-im/node -e "fetch(\'http://127.0.0.1:8080/healthz\').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))" && break; sleep 1; done',
        // A login attempt and an admin action are audited into the access log.
        `chroot /target /opt/pibake-im/node -e "fetch('http://127.0.0.1:8080/api/login',{method:'POST',headers:{'content-type':'application/json'},body:JSON.stringify({name:'nobody',password:'wrong'})}).then(r=>console.log('login',r.status))"`,
        "echo 'a-long-test-password' | chroot /target runuser -u pibake-im -- /opt/pibake-im/bin/pibake-im-admin --config /etc/pibake-im/config.yaml users add audit-probe",
        'pkill -TERM -f "pibake-im --config" || true; sleep 3',
        'ls -l /target/var/log/pibake-im/',
      ].join('\n'),
    );
    const rule = (await inImage('cat /target/etc/logrotate.d/pibake-im')).stdout;
    const logPath = rule.match(/^(\/\S+) \{$/m)![1]!;
    expect(r.stdout).toContain(path.basename(logPath));
    expect((await inImage(`chroot /target stat -c '%U %s' ${logPath}`)).stdout.trim()).toMatch(/^pibake-im [1-9]\d*$/);
  });

  it('the cron file is one cron accepts, and its command runs in the chroot and makes a backup as the service user', async () => {
    const f = '/target/etc/cron.d/pibake-im-backup';
    expect((await inImage(`stat -c '%a %U' ${f}`)).stdout.trim()).toBe('644 root');
    expect((await inImage(`tail -c1 ${f} | od -An -c`)).stdout.trim()).toBe('\\n');
    const line = (await inImage(`grep -E '^[0-9@]' ${f}`)).stdout.trim().split(/\s+/);
    expect(line.slice(0, 6)).toEqual(['0', '2', '*', '*', '*', 'pibake-im']);
    const command = line.slice(6).join(' ');
    await inImage(`chroot /target install -d -o pibake-im -g pibake-im -m 0750 /var/lib/pibake-im && chroot /target runuser -u pibake-im -- sh -c '${command}'`);
    const backups = (await inImage(`chroot /target find /var/lib/pibake-im/backups -type f -printf '%u %f\\n'`)).stdout.trim().split('\n');
    expect(backups.length).toBeGreaterThan(0);
    for (const b of backups) expect(b).toMatch(/^pibake-im /);
    expect((await inImage(`chroot /target find /var/lib/pibake-im -user root | wc -l`)).stdout.trim()).toBe('0');
  });
});

// Last: it changes the unpacked copy (a login user), which the checks above must not see.
describe('users stage on the built image', () => {
  it('creates a key-only sudo user, passes sshd -t in the image, enables ssh, and leaves no /run/sshd behind', async () => {
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICACJBnuTYYfxYPlSFtqifKPuNXAq2rYyKHc7nXx9dun test@pibake';
    const cfg = users.schema.parse({ accounts: [{ name: 'pi', groups: ['sudo'], ssh_authorized_keys: [key] }], ssh: { enable: true } });
    const ctx = createStageContext(box.c, () => {}, new Set(), async () => { throw new Error('no artifacts here'); }, { aptUpdated: false });
    await users.apply(ctx, cfg as never);
    expect((await inImage('chroot /target id -nG pi')).stdout.trim().split(' ')).toContain('sudo');
    expect((await inImage('chroot /target passwd -S pi')).stdout).toMatch(/^pi L /); // locked password: keys only
    expect((await inImage("chroot /target stat -c '%a %U' /home/pi/.ssh/authorized_keys /home/pi/.ssh")).stdout.trim().split('\n'))
      .toEqual(['600 pi', '700 pi']);
    expect((await inImage('cat /target/home/pi/.ssh/authorized_keys')).stdout.trim()).toBe(key);
    expect((await inImage('cat /target/etc/ssh/sshd_config.d/90-pibake.conf')).stdout).toMatch(/^PasswordAuthentication no$/m);
    expect((await inImage('ls /target/etc/systemd/system/multi-user.target.wants/')).stdout).toMatch(/^ssh\.service$/m);
    expect((await inImage('test -e /target/run/sshd && echo left || echo gone')).stdout.trim()).toBe('gone');
  });
});
