// The initramfs /init (busybox sh): load virtio+ext4 modules, mount the rootfs, drop the verify payload, switch_root.
export const PAYLOAD_DIR = '.pibake-verify'; // in the rootfs, written only to the -snapshot overlay
export const UNIT_NAME = 'pibake-verify.service';

export function initScript(): string {
  return `#!/bin/busybox sh
# pibake verify initramfs: everything written below lands in qemu's -snapshot overlay, never in the image.
/bin/busybox mkdir -p /proc /sys /dev /newroot /sbin /usr/bin /usr/sbin
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
say() { echo "pibake-verify-init: $*" > /dev/console; }
fail() { say "FATAL: $*"; sleep 1; poweroff -f; }
say "initramfs up at $(cut -d' ' -f1 /proc/uptime)s"
for m in $(cat /modules/load-order); do
  insmod "/modules/$m.ko" 2>/dev/null || say "insmod $m failed (ignored)"
done
root=$(sed -n 's/.*pibake.root=\\([^ ]*\\).*/\\1/p' /proc/cmdline)
[ -n "$root" ] || root=/dev/vda2
i=0
while [ ! -b "$root" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
[ -b "$root" ] || fail "root device $root did not appear (virtio_blk missing?)"
mount -t ext4 -o rw "$root" /newroot || fail "cannot mount $root as ext4"
[ -x /newroot/sbin/init ] || [ -L /newroot/sbin/init ] || fail "no /sbin/init in the rootfs"
P=/newroot/${PAYLOAD_DIR}
rm -rf "$P" && mkdir -p "$P" && cp -a /payload/. "$P/" && cp /bin/busybox "$P/busybox" || fail "cannot write the payload"
mkdir -p /newroot/etc/systemd/system/multi-user.target.wants
cp /payload/${UNIT_NAME} /newroot/etc/systemd/system/${UNIT_NAME}
ln -sf ../${UNIT_NAME} /newroot/etc/systemd/system/multi-user.target.wants/${UNIT_NAME}
if [ -b /dev/vdb ] && [ -f /payload/modules-disk ]; then
  kver=$(uname -r)
  mkdir -p "/newroot/usr/lib/modules/$kver" && mount -t ext4 -o rw /dev/vdb "/newroot/usr/lib/modules/$kver" || fail "cannot mount the modules disk"
  # the kit has no depmod output; the image's own depmod writes it (the disk is a -snapshot drive too)
  chroot /newroot depmod -a "$kver" || say "depmod $kver failed: modules will not autoload"
fi
cut -d' ' -f1 /proc/uptime > "$P/initramfs-done"
say "switching to the image's systemd"
umount /sys /proc
exec switch_root /newroot /sbin/init
fail "switch_root failed"
`;
}
