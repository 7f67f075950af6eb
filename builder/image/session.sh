#!/bin/bash
# Opens and closes a working image inside the builder container: rootfs on a loop mount, bootfs copied out with mtools.
set -euo pipefail
img=/build/work.img
boot_dir=/build/bootfs
target=/target
die() { echo "session: $*" >&2; exit 1; }
# unmount a tree; tolerant of a concurrent unmount of the same tree (an interrupt's cleanup racing a normal close)
unmount_tree() { umount -R "$1" 2>/dev/null || umount -R -l "$1" 2>/dev/null || umount -R -l "$1" 2>/dev/null || ! mountpoint -q "$1" || die "cannot unmount $1"; }

attach_loop() { # <offset> <size>: prints the loop device, making its node if the container lacks it
  local dev
  if ! dev=$(losetup --show -f -o "$1" --sizelimit "$2" "$img" 2>/dev/null); then
    local next; next=$(losetup -f) || die "no free loop device"
    [ -e "$next" ] || mknod "$next" b 7 "${next#/dev/loop}"
    dev=$(losetup --show -f -o "$1" --sizelimit "$2" "$img")
  fi
  echo "$dev"
}

case "$1" in
grow) # <extra MiB>: grow the file and partition 2 (the last one) to the end, then the filesystem
  truncate -s "+$2M" "$img"
  echo ', +' | sfdisk --quiet --no-reread --no-tell-kernel -N 2 "$img"
  ;;
mount-root) # <offset bytes> <size bytes>
  dev=$(attach_loop "$2" "$3")
  echo "$dev" > /build/loopdev
  e2fsck -fy "$dev" >/dev/null 2>&1 || { rc=$?; [ $rc -le 2 ] || { losetup -d "$dev"; die "e2fsck found errors it could not fix on the root filesystem (exit $rc)"; }; }
  resize2fs "$dev" >/dev/null 2>&1 || { losetup -d "$dev"; die "resize2fs failed"; }
  mkdir -p "$target"
  mount -t ext4 -o noatime "$dev" "$target" || { losetup -d "$dev"; die "cannot mount the root filesystem"; }
  losetup -d "$dev" # autoclear: the loop goes away with the mount, even if this container is killed
  rm -f /build/loopdev # the kernel owns its release now; never detach that number again (another build may get it)
  ;;
copy-boot-out) # <offset bytes>
  rm -rf "$boot_dir"; mkdir -p "$boot_dir"
  mcopy -s -p -m -n -i "$img@@$2" '::*' "$boot_dir/"
  mkdir -p "$target/boot/firmware"
  mount --bind "$boot_dir" "$target/boot/firmware"
  ;;
chroot-prepare)
  mount -t proc proc "$target/proc"
  mount -t sysfs sysfs "$target/sys"
  mount --rbind /dev "$target/dev"
  mount -t tmpfs -o mode=0755 tmpfs "$target/run"
  if [ -e "$target/etc/resolv.conf" ] || [ -L "$target/etc/resolv.conf" ]; then mv "$target/etc/resolv.conf" "$target/etc/resolv.conf.pibake-orig"; fi
  cp /etc/resolv.conf "$target/etc/resolv.conf"
  if [ -e "$target/usr/sbin/policy-rc.d" ]; then mv "$target/usr/sbin/policy-rc.d" "$target/usr/sbin/policy-rc.d.pibake-orig"; fi
  printf '#!/bin/sh\n# pibake: no service starts while the image is built\nexit 101\n' > "$target/usr/sbin/policy-rc.d"
  chmod 0755 "$target/usr/sbin/policy-rc.d"
  ;;
chroot-release) # undo chroot-prepare; safe to run twice
  if [ -e "$target/usr/sbin/policy-rc.d.pibake-orig" ]; then mv -f "$target/usr/sbin/policy-rc.d.pibake-orig" "$target/usr/sbin/policy-rc.d"; else rm -f "$target/usr/sbin/policy-rc.d"; fi
  if [ -e "$target/etc/resolv.conf.pibake-orig" ] || [ -L "$target/etc/resolv.conf.pibake-orig" ]; then rm -f "$target/etc/resolv.conf"; mv "$target/etc/resolv.conf.pibake-orig" "$target/etc/resolv.conf"; fi
  rm -rf "$target"/var/lib/apt/lists/* "$target"/var/cache/apt/archives/*.deb "$target"/var/cache/apt/*.bin "$target"/tmp/* 2>/dev/null || true
  for m in run dev sys proc; do if mountpoint -q "$target/$m"; then unmount_tree "$target/$m"; fi; done
  true
  ;;
unmount) # release everything; safe on a half-open session
  for m in run dev sys proc boot/firmware; do if mountpoint -q "$target/$m" 2>/dev/null; then unmount_tree "$target/$m"; fi; done
  if mountpoint -q "$target"; then
    fstrim "$target" >/dev/null 2>&1 || true
    if ! umount "$target" 2>/dev/null; then
      # an interrupted stage may still run in the chroot: stop what lives in the image, then unmount
      for p in /proc/[0-9]*; do
        for l in root cwd; do
          r=$(readlink "$p/$l" 2>/dev/null) || continue
          case $r in "$target"|"$target"/*) kill -9 "${p#/proc/}" 2>/dev/null; break ;; esac
        done
      done
      sleep 0.5
      umount "$target" 2>/dev/null || umount -l "$target"
    fi
  fi
  if [ -s /build/loopdev ]; then losetup -d "$(cat /build/loopdev)" 2>/dev/null || true; rm -f /build/loopdev; fi
  ;;
write-boot) # <start sector> <size sectors> <label> <volume id hex>: fresh FAT from the boot folder, written back
  rm -f /build/boot.fat
  mkfs.vfat -F 32 -n "$4" -i "$5" -C /build/boot.fat $(( $3 / 2 )) >/dev/null
  ( cd "$boot_dir" && find . -mindepth 1 -maxdepth 1 -printf '%P\0' | xargs -0 -r -I{} mcopy -s -p -m -i /build/boot.fat {} ::/ )
  fsck.vfat -n /build/boot.fat >/dev/null || die "the new boot filesystem does not pass fsck.vfat"
  # Punch the old partition out first: a sparse dd skips zero blocks, which must not leave old bytes behind.
  fallocate --punch-hole --offset $(( $2 * 512 )) --length $(( $3 * 512 )) "$img"
  dd if=/build/boot.fat of="$img" bs=512 seek="$2" conv=notrunc,sparse status=none
  rm -f /build/boot.fat
  ;;
*) die "unknown step $1" ;;
esac
