#!/bin/bash
# Purpose: bootstrap a Debian arm64 image in the exact Raspberry Pi OS Lite disk layout (runs inside the pibake builder container).
#
# Usage:
#   bootstrap-debian.sh --mirror URL --out /out/base.img [--suite trixie] [--hostname raspberrypi]
#                       [--extra-packages "a b c"] [--work /out/work] [--disk-id 1a2b3c4d]
#                       [--security-mirror URL] [--keep-work]
#
# Writes <out> (sparse raw disk image: MBR, p1 FAT32 "bootfs" 512 MiB at sector 16384, p2 ext4 "rootfs" at
# sector 1064960) and <out-without-.img>.json (base.json: suite, kernel, disk id, partitions, packages, summary).
# The work dir must be on a real file system (the bind-mounted volume), not the container's overlay.
#
# Notes (see also the report in the repo history):
# - No default user (like Raspberry Pi OS): root is locked. A first-boot unit reads /boot/firmware/userconf.txt
#   ("user:crypt-hash") and creates that user in group sudo; ssh is disabled and gets enabled on first boot when
#   /boot/firmware/ssh or ssh.txt exists (like Pi OS sshswitch). SSH host keys are generated on first boot.
# - cmdline.txt/config.txt are written by Debian's raspi-firmware hooks (kernel postinst.d, initramfs
#   post-update.d). /etc/default/raspi-firmware is set so those hooks write root=PARTUUID=<id>-02 themselves; a
#   customizer that changes the disk id must rewrite fstab, cmdline.txt AND /etc/default/raspi-firmware. Extra
#   kernel arguments belong in /etc/default/raspi-extra-cmdline (the hooks append it), not only in cmdline.txt.
# - Running those hooks in a chroot: they skip the /boot/firmware mountpoint check when ischroot (needs /proc in
#   the chroot) or systemd-detect-virt reports a container; otherwise /boot/firmware must be a mountpoint.
set -euo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
PROG=bootstrap-debian

die() { echo "$PROG: error: $1${2:+ (hint: $2)}" >&2; exit 1; }
log() { echo "$PROG: $*" >&2; }
now() { date +%s; }

# ---------------------------------------------------------------------------------------------------------------
# Hooks called back by mmdebstrap (same script, environment exported by the main run).
# ---------------------------------------------------------------------------------------------------------------

# Before the kernel and initramfs-tools are installed: divert update-initramfs to a no-op so that neither the
# kernel postinst hook (update-initramfs -c, which ignores update_initramfs=no) nor the initramfs-tools trigger
# (-u) builds an initramfs under emulation. The real one is built once in hook_customize.
hook_essential() {
  local root=$1
  chroot "$root" dpkg-divert --quiet --local --rename --divert /usr/sbin/update-initramfs.pibake \
    --add /usr/sbin/update-initramfs
  cat > "$root/usr/sbin/update-initramfs" <<'EOF'
#!/bin/sh
# pibake: initramfs generation deferred during bootstrap (diversion removed before the real run)
echo "pibake: update-initramfs $* deferred" >&2
exit 0
EOF
  chmod 755 "$root/usr/sbin/update-initramfs"
}

hook_customize() {
  local root=$1
  local id=$PIBAKE_DISK_ID
  local t0 kver

  # policy-rc.d: mmdebstrap installs one (exit 101) for the whole run and removes it at the end; make sure.
  [ -x "$root/usr/sbin/policy-rc.d" ] || die "no policy-rc.d in the chroot during install" "mmdebstrap --skip=chroot/policy-rc.d must not be used"

  # --- undo the update-initramfs diversion
  if [ -n "$(chroot "$root" dpkg-divert --listpackage /usr/sbin/update-initramfs)" ]; then
    rm -f "$root/usr/sbin/update-initramfs"
    chroot "$root" dpkg-divert --quiet --local --rename --divert /usr/sbin/update-initramfs.pibake \
      --remove /usr/sbin/update-initramfs
  fi
  [ -x "$root/usr/sbin/update-initramfs" ] || die "update-initramfs missing after removing the diversion" "is initramfs-tools installed?"

  # --- initramfs configuration: explicit module list (never MODULES=dep: it inspects the build host)
  sed -i -e 's/^MODULES=.*/MODULES=list/' -e 's/^#\?COMPRESS=.*/COMPRESS=zstd/' "$root/etc/initramfs-tools/initramfs.conf"
  grep -q '^MODULES=list' "$root/etc/initramfs-tools/initramfs.conf" || echo MODULES=list >> "$root/etc/initramfs-tools/initramfs.conf"
  grep -q '^COMPRESS=zstd' "$root/etc/initramfs-tools/initramfs.conf" || echo COMPRESS=zstd >> "$root/etc/initramfs-tools/initramfs.conf"
  # zstd -3 instead of the default -9: much faster under emulation, initrd a little larger
  sed -i -e '/^#\?COMPRESSLEVEL=/d' "$root/etc/initramfs-tools/initramfs.conf"
  echo COMPRESSLEVEL=3 >> "$root/etc/initramfs-tools/initramfs.conf"
  # the fsck hook cannot resolve PARTUUID= in a chroot; name the type (raspi-firmware-fsck adds fsck.ext4 anyway)
  sed -i -e 's/^FSTYPE=.*/FSTYPE=ext4/' "$root/etc/initramfs-tools/initramfs.conf"
  # normal behaviour for later kernel updates on the Pi
  if [ -f "$root/etc/initramfs-tools/update-initramfs.conf" ]; then
    sed -i 's/^update_initramfs=.*/update_initramfs=yes/' "$root/etc/initramfs-tools/update-initramfs.conf"
  fi

  kver=$(cd "$root/boot" && ls -1 vmlinuz-* 2>/dev/null | sed 's/^vmlinuz-//' | sort -V | tail -1)
  [ -n "$kver" ] || die "no kernel in /boot of the new root" "linux-image-arm64 must be installed"
  local moddir="$root/usr/lib/modules/$kver"
  [ -d "$moddir" ] || moddir="$root/lib/modules/$kver"

  # Candidate modules; only those the kernel ships are listed (the list must not name missing modules).
  local want=(
    # SD card / eMMC (Pi 3/4/5, CM)
    mmc_block mmc_core sdhci sdhci-pltfm sdhci-iproc sdhci-brcmstb sdhci-of-dwcmshc bcm2835 bcm2835-mmc bcm2835_mmc
    # clocks/power/reset the MMC and PCIe/USB paths need when modular
    clk-raspberrypi raspberrypi-cpufreq reset-raspberrypi reset-brcmstb rpi-reset raspberrypi-power
    # USB boot: controllers and storage
    pcie-brcmstb xhci-hcd xhci-pci xhci-plat-hcd xhci-pci-renesas dwc2 dwc3 ehci-hcd ehci-platform usb-storage uas
    # SCSI disk for USB mass storage
    sd_mod scsi_mod
    # virtio for qemu-system-aarch64 -M virt
    virtio virtio_ring virtio_pci virtio_pci_modern_dev virtio_pci_legacy_dev virtio_mmio virtio_blk virtio_scsi virtio_net
    # root file system
    ext4 jbd2 mbcache crc16 crc32c crc32c_generic crc32c-arm64 libcrc32c
    # boot partition (fsck.vfat runs from the initramfs via raspi-firmware-fsck; mounting it is not needed)
    nls_cp437 nls_ascii
  )
  # builtin ones need no entry; loadable ones are listed by their file name
  local m f list=() builtin=()
  for m in "${want[@]}"; do
    if grep -Eq "/(${m//[-_]/[-_]})\.ko\$" "$moddir/modules.builtin"; then builtin+=("${m//-/_}"); continue; fi
    f=$(find "$moddir/kernel" \( -name "$m.ko*" -o -name "${m//-/_}.ko*" -o -name "${m//_/-}.ko*" \) -print -quit)
    if [ -n "$f" ]; then list+=("$(basename "$f" | sed 's/\.ko.*$//')"); fi
  done
  {
    echo "# Modules in the initramfs (MODULES=list), written by pibake bootstrap-debian.sh."
    echo "# SD/eMMC, USB storage, virtio (qemu -M virt) and ext4. Kept for future update-initramfs runs."
    printf '%s\n' "${list[@]}" | awk '!seen[$0]++'
  } > "$root/etc/initramfs-tools/modules"
  for m in mmc_block ext4 virtio_blk virtio_pci usb-storage uas sdhci-iproc; do
    grep -qx -- "$m" "$root/etc/initramfs-tools/modules" || grep -qx -- "${m//-/_}" "$root/etc/initramfs-tools/modules" \
      || printf '%s\n' "${builtin[@]}" | grep -qx -- "${m//-/_}" \
      || die "kernel $kver has neither a module nor a builtin $m" "inspect $moddir"
  done
  log "initramfs modules: $(grep -v '^#' "$root/etc/initramfs-tools/modules" | tr '\n' ' ')(builtin: ${builtin[*]})"

  # --- raspi-firmware defaults: its hooks rewrite cmdline.txt/config.txt on every kernel/initramfs update,
  # so the right root= and consoles must come from here, not only from a one-off edit of cmdline.txt.
  local rf="$root/etc/default/raspi-firmware"
  [ -f "$rf" ] || die "/etc/default/raspi-firmware missing" "raspi-firmware must be installed"
  sed -i -e '/^# pibake begin/,/^# pibake end/d' "$rf"
  cat >> "$rf" <<EOF
# pibake begin -- Raspberry Pi OS Lite-like kernel command line; keep in sync with /etc/fstab and the disk id.
ROOTPART="PARTUUID=${id}-02 rootfstype=ext4"
CONSOLES="serial0,115200 tty1"
# 0 = do not add cma= (the device tree's default pool is used; cma=64M can break a Pi 4)
CMA=0
KERNEL="auto"
INITRAMFS="auto"
# pibake end
EOF
  [ -f "$root/etc/default/raspi-extra-cmdline" ] || : > "$root/etc/default/raspi-extra-cmdline"

  # --- fstab (Pi OS)
  cat > "$root/etc/fstab" <<EOF
proc            /proc           proc    defaults          0       0
PARTUUID=${id}-01  /boot/firmware  vfat    defaults          0       2
PARTUUID=${id}-02  /               ext4    defaults,noatime  0       1
EOF
  mkdir -p "$root/boot/firmware"

  # --- the single initramfs build; its post-update hook (z50-raspi-firmware) copies kernel, initrd and DTBs to
  # /boot/firmware and writes config.txt and cmdline.txt.
  t0=$(now)
  chroot "$root" update-initramfs -c -k "$kver" >&2 || die "update-initramfs -c -k $kver failed in the chroot" "see the output above"
  echo $(( $(now) - t0 )) > "$PIBAKE_WORK/initramfs-seconds"
  log "initramfs for $kver built in $(cat "$PIBAKE_WORK/initramfs-seconds")s"
  [ -f "$root/boot/initrd.img-$kver" ] || die "no /boot/initrd.img-$kver after update-initramfs" "check the initramfs-tools output"
  [ -f "$root/boot/firmware/cmdline.txt" ] || die "raspi-firmware hook did not write /boot/firmware/cmdline.txt" "check /etc/initramfs/post-update.d/z50-raspi-firmware output above"
  echo "$kver" > "$PIBAKE_WORK/kernel-version"

  # --- first-boot units
  mkdir -p "$root/usr/lib/pibake" "$root/etc/systemd/system"
  cat > "$root/etc/systemd/system/pibake-ssh-keygen.service" <<'EOF'
[Unit]
Description=Generate missing SSH host keys (pibake first boot)
DefaultDependencies=no
After=local-fs.target systemd-remount-fs.service
Before=sysinit.target ssh.service ssh.socket shutdown.target
Conflicts=shutdown.target
ConditionPathExistsGlob=!/etc/ssh/ssh_host_*_key
ConditionFileIsExecutable=/usr/bin/ssh-keygen

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A
RemainAfterExit=yes

[Install]
WantedBy=sysinit.target
EOF
  cat > "$root/etc/systemd/system/pibake-sshswitch.service" <<'EOF'
[Unit]
Description=Enable SSH when /boot/firmware/ssh or ssh.txt exists (pibake, like Raspberry Pi OS sshswitch)
RequiresMountsFor=/boot/firmware
Before=ssh.service
ConditionPathExists=|/boot/firmware/ssh
ConditionPathExists=|/boot/firmware/ssh.txt

[Service]
Type=oneshot
ExecStart=/bin/sh -c "systemctl enable --now --no-block ssh.service; rm -f /boot/firmware/ssh /boot/firmware/ssh.txt"

[Install]
WantedBy=multi-user.target
EOF
  cat > "$root/usr/lib/pibake/userconf" <<'EOF'
#!/bin/sh
# pibake: create the user named in /boot/firmware/userconf.txt ("name:crypt-hash"), like Raspberry Pi OS userconf.
set -eu
f=/boot/firmware/userconf.txt
line=$(head -n1 "$f" | tr -d '\r')
rm -f "$f"
name=${line%%:*}; hash=${line#*:}
[ -n "$name" ] && [ -n "$hash" ] && [ "$name" != "$line" ] || { echo "userconf: malformed $f" >&2; exit 1; }
id "$name" >/dev/null 2>&1 || useradd -m -s /bin/bash -G sudo,adm,users "$name"
echo "$name:$hash" | chpasswd -e
EOF
  chmod 755 "$root/usr/lib/pibake/userconf"
  cat > "$root/etc/systemd/system/pibake-userconf.service" <<'EOF'
[Unit]
Description=Create the user from /boot/firmware/userconf.txt (pibake first boot)
RequiresMountsFor=/boot/firmware
Before=systemd-user-sessions.service ssh.service
ConditionPathExists=/boot/firmware/userconf.txt

[Service]
Type=oneshot
ExecStart=/usr/lib/pibake/userconf

[Install]
WantedBy=multi-user.target
EOF
  cat > "$root/usr/lib/pibake/expand-rootfs" <<'EOF'
#!/bin/sh
# pibake: grow the root partition (the last one) and its ext4 to the end of the disk, once (first boot).
# sfdisk + partx (BLKPG, works while mounted) + resize2fs; no growpart, so no python3 in the image.
set -eu
stamp=/var/lib/pibake/rootfs-expanded
dev=$(readlink -f "$(findmnt -no SOURCE /)")
name=$(basename "$dev")
part=$(cat "/sys/class/block/$name/partition")
disk=/dev/$(lsblk -no PKNAME "$dev" | head -n1)
before=$(cat "/sys/class/block/$name/size")
echo ', +' | sfdisk --quiet --no-reread --no-tell-kernel --force -N "$part" "$disk" >/dev/null
partx -u --nr "$part" "$disk"
after=$(cat "/sys/class/block/$name/size")
echo "expand-rootfs: $dev $before -> $after sectors"
resize2fs "$dev"
mkdir -p "${stamp%/*}"; touch "$stamp"
EOF
  chmod 755 "$root/usr/lib/pibake/expand-rootfs"
  cat > "$root/usr/lib/pibake/new-disk-id" <<'EOF'
#!/bin/sh
# pibake: give this card a disk id of its own at first boot, as Raspberry Pi OS does: every card flashed from one
# image shares it, and two such cards in one Pi would share PARTUUIDs. The MBR id, fstab, cmdline.txt and
# /etc/default/raspi-firmware (its kernel hooks rewrite cmdline.txt on every kernel update) change together.
set -eu
stamp=/var/lib/pibake/disk-id-renewed
done_() { mkdir -p "${stamp%/*}"; touch "$stamp"; }
dev=$(readlink -f "$(findmnt -no SOURCE /)")
disk=/dev/$(lsblk -no PKNAME "$dev" | head -n1)
old=$(sfdisk --disk-id "$disk"); old=${old#0x}
files="/etc/fstab /boot/firmware/cmdline.txt /etc/default/raspi-firmware"
for f in $files; do
  # a file changed by hand keeps the card's id as it is: a half-rewritten set would not boot
  grep -qs "PARTUUID=$old-" "$f" || { echo "new-disk-id: $f does not name PARTUUID=$old-*; disk id $old kept"; done_; exit 0; }
done
new=00000000
while [ "$new" = 00000000 ] || [ "$new" = "$old" ]; do new=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n'); done
# the files first, while /boot/firmware is mounted: writing the MBR makes udev re-probe the disk, the old
# by-partuuid links vanish and systemd stops the mount that was bound to them
for f in $files; do sed -i "s/PARTUUID=$old-/PARTUUID=$new-/g" "$f"; done
sync
sfdisk --no-reread --no-tell-kernel --disk-id "$disk" "0x$new" >/dev/null 2>&1 || true
[ "$(sfdisk --disk-id "$disk")" = "0x$new" ] || {
  for f in $files; do sed -i "s/PARTUUID=$new-/PARTUUID=$old-/g" "$f"; done; sync
  echo "new-disk-id: could not write the disk id of $disk; kept $old" >&2; exit 1
}
echo "new-disk-id: $old -> $new"
done_
# mount /boot/firmware again through its new PARTUUID, for the rest of this first boot
udevadm settle --timeout=30 || true
systemctl daemon-reload
systemctl start boot-firmware.mount
EOF
  chmod 755 "$root/usr/lib/pibake/new-disk-id"
  cat > "$root/etc/systemd/system/pibake-expand-rootfs.service" <<'EOF'
[Unit]
Description=Expand the root partition and file system to the whole card (pibake first boot)
After=systemd-remount-fs.service
Before=local-fs.target shutdown.target
Conflicts=shutdown.target
DefaultDependencies=no
ConditionPathExists=!/var/lib/pibake/rootfs-expanded

[Service]
Type=oneshot
ExecStart=/usr/lib/pibake/expand-rootfs
RemainAfterExit=yes

[Install]
WantedBy=local-fs.target
EOF
  cat > "$root/etc/systemd/system/pibake-new-disk-id.service" <<'EOF'
[Unit]
Description=Give the card a disk id of its own (pibake first boot, as Raspberry Pi OS does)
# Wants, not Requires: the mount goes down when the old PARTUUID link vanishes, and must not take this unit along
Wants=boot-firmware.mount
After=systemd-remount-fs.service pibake-expand-rootfs.service boot-firmware.mount
Before=local-fs.target shutdown.target
Conflicts=shutdown.target
DefaultDependencies=no
ConditionPathExists=!/var/lib/pibake/disk-id-renewed

[Service]
Type=oneshot
ExecStart=/usr/lib/pibake/new-disk-id
RemainAfterExit=yes

[Install]
WantedBy=local-fs.target
EOF

  # --- services like Pi OS Lite: ssh installed but disabled; the rest enabled
  chroot "$root" systemctl enable pibake-ssh-keygen.service pibake-sshswitch.service pibake-userconf.service \
    pibake-expand-rootfs.service pibake-new-disk-id.service >&2
  chroot "$root" systemctl disable ssh.service >&2 || true
  chroot "$root" systemctl disable ssh.socket >&2 2>/dev/null || true
  local u
  for u in avahi-daemon.service bluetooth.service cron.service NetworkManager.service systemd-timesyncd.service; do
    chroot "$root" systemctl enable "$u" >&2 || die "cannot enable $u" "is its package installed?"
  done
  # machine-id "uninitialized" makes systemd apply presets (preset-all) at first boot: without a preset of our own
  # Debian's would re-enable ssh and start systemd-networkd next to NetworkManager. First match wins, so "05-".
  chroot "$root" systemctl disable systemd-networkd.service systemd-networkd.socket \
    systemd-networkd-wait-online.service >&2 2>/dev/null || true
  mkdir -p "$root/etc/systemd/system-preset"
  {
    echo "# pibake base: the Raspberry Pi OS Lite service set, kept through systemd's first-boot preset-all."
    for u in avahi-daemon.service bluetooth.service cron.service NetworkManager.service systemd-timesyncd.service \
      pibake-ssh-keygen.service pibake-sshswitch.service pibake-userconf.service pibake-expand-rootfs.service \
      pibake-new-disk-id.service; do
      echo "enable $u"
    done
    for u in ssh.service ssh.socket systemd-networkd.service systemd-networkd.socket systemd-networkd-wait-online.service \
      systemd-networkd-persistent-storage.service; do
      echo "disable $u"
    done
  } > "$root/etc/systemd/system-preset/05-pibake-base.preset"

  # no swap in the base (the engine adds zram); make sure nothing enabled one
  rm -f "$root/swapfile" "$root/var/swap"

  # --- identity and secrets: none baked in
  rm -f "$root"/etc/ssh/ssh_host_*
  echo uninitialized > "$root/etc/machine-id"
  rm -f "$root/var/lib/dbus/machine-id"
  ln -s /etc/machine-id "$root/var/lib/dbus/machine-id" 2>/dev/null || true
  rm -f "$root/var/lib/systemd/random-seed" "$root/var/lib/systemd/credential.secret"

  # --- package list for base.json (before the chroot goes away)
  chroot "$root" dpkg-query -W -f '${binary:Package}\t${Version}\t${Status}\n' > "$PIBAKE_WORK/packages.tsv"
  chroot "$root" systemctl list-unit-files --state=enabled --no-legend --no-pager 2>/dev/null \
    | awk '{print $1}' > "$PIBAKE_WORK/enabled-units.txt" || true
}


# ---------------------------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------------------------
# (all in functions: bash parses the whole body before running, so editing the file mid-run is harmless)
main() {
SUITE=trixie
MIRROR=
SECURITY_MIRROR=
OUT=
HOSTNAME_=raspberrypi
EXTRA=
WORK=
DISK_ID=
KEEP_WORK=0

need_arg() { [ $# -ge 2 ] && [ -n "$2" ] || die "option $1 needs a value" "see the usage at the top of $SELF"; }
while [ $# -gt 0 ]; do
  case $1 in
    --suite) need_arg "$@"; SUITE=$2; shift 2 ;;
    --mirror) need_arg "$@"; MIRROR=$2; shift 2 ;;
    --security-mirror) need_arg "$@"; SECURITY_MIRROR=$2; shift 2 ;;
    --out) need_arg "$@"; OUT=$2; shift 2 ;;
    --hostname) need_arg "$@"; HOSTNAME_=$2; shift 2 ;;
    --extra-packages) EXTRA=${2:-}; shift 2 ;;
    --work) need_arg "$@"; WORK=$2; shift 2 ;;
    --disk-id) need_arg "$@"; DISK_ID=$2; shift 2 ;;
    --keep-work) KEEP_WORK=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$SELF" | sed '$d'; exit 0 ;;
    *) die "unknown argument '$1'" "see the usage at the top of $SELF" ;;
  esac
done

[ -n "$MIRROR" ] || die "--mirror is required" "pass the Debian archive URL from the host's apt sources"
[ -n "$OUT" ] || die "--out is required" "e.g. --out /out/base.img"
case $OUT in *.img) ;; *) die "--out must end in .img" "base.json is written next to it";; esac
case $MIRROR in http://*|https://*|file:/*) ;; *) die "mirror '$MIRROR' is not a URL" "e.g. the URIs: value of /etc/apt/sources.list.d/debian.sources";; esac
case $SECURITY_MIRROR in ''|http://*|https://*|file:/*) ;; *) die "security mirror '$SECURITY_MIRROR' is not a URL" "e.g. the URIs: value of the debian-security entry of the host's apt sources";; esac
[[ $HOSTNAME_ =~ ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$ ]] || die "invalid hostname '$HOSTNAME_'" "lowercase letters, digits and '-'"
[[ $SUITE =~ ^[a-z]+$ ]] || die "invalid suite '$SUITE'" "e.g. trixie"
if [ -z "$DISK_ID" ]; then
  DISK_ID=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
fi
DISK_ID=${DISK_ID#0x}; DISK_ID=${DISK_ID,,}
[[ $DISK_ID =~ ^[0-9a-f]{8}$ ]] && [ "$DISK_ID" != 00000000 ] || die "invalid --disk-id '$DISK_ID'" "8 hex digits, not all zero"
[ "$(id -u)" -eq 0 ] || die "must run as root" "run inside the builder container"
for t in mmdebstrap mke2fs e2fsck debugfs mkfs.vfat fsck.vfat mcopy mdir mtype sfdisk dd python3 chroot; do
  command -v "$t" >/dev/null || die "tool '$t' not found" "use the pibake builder image (builder/container/packages.txt)"
done

OUTDIR=$(dirname "$OUT")
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
OUT="$OUTDIR/$(basename "$OUT")"
JSON="${OUT%.img}.json"
[ -n "$WORK" ] || WORK="$OUTDIR/work.$$"
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
ROOT="$WORK/rootfs"
BOOTDIR="$WORK/bootfs"

cleanup() {
  local rc=$?
  # mmdebstrap unmounts what it mounted; anything still mounted below the work dir is a leftover from a crash
  if [ -d "$ROOT" ]; then
    awk -v r="$ROOT" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r | while read -r mp; do umount -l "$mp" || true; done
  fi
  if [ "$KEEP_WORK" -eq 1 ]; then
    log "work dir kept: $WORK"
  else
    rm -rf --one-file-system "$WORK"
  fi
  if [ "$rc" -ne 0 ]; then
    rm -f "$OUT.tmp" "$JSON.tmp"
    log "FAILED (exit $rc)"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -e "$ROOT" ]; then rm -rf --one-file-system "$ROOT"; fi
mkdir -p "$BOOTDIR"
T_START=$(now)

COMPONENTS="main contrib non-free non-free-firmware"
PACKAGES="systemd-sysv udev dbus libpam-systemd raspi-firmware linux-image-arm64 initramfs-tools zstd
  avahi-daemon libnss-mdns bluez bluez-firmware firmware-brcm80211 wpasupplicant openssh-server cron logrotate
  network-manager sudo ca-certificates iproute2 iputils-ping less nano systemd-timesyncd kmod e2fsprogs
  dosfstools fdisk procps netbase tzdata rfkill $EXTRA"
PACKAGES=$(echo $PACKAGES | tr ' ' ',')

SOURCES=("deb $MIRROR $SUITE $COMPONENTS" "deb $MIRROR $SUITE-updates $COMPONENTS")
if [ -n "$SECURITY_MIRROR" ]; then SOURCES+=("deb $SECURITY_MIRROR $SUITE-security $COMPONENTS"); fi

export PIBAKE_DISK_ID=$DISK_ID PIBAKE_WORK=$WORK
log "mmdebstrap $SUITE arm64 into $ROOT (disk id $DISK_ID)"
T0=$(now)
mmdebstrap --mode=root --arch=arm64 --variant=minbase --format=directory \
  --components="$COMPONENTS" --include="$PACKAGES" \
  --aptopt='Acquire::Retries "3"' --dpkgopt=force-unsafe-io \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
  --essential-hook="\"$SELF\" __essential \"\$1\"" \
  --customize-hook="\"$SELF\" __customize \"\$1\"" \
  "$SUITE" "$ROOT" "${SOURCES[@]}" \
  || die "mmdebstrap failed" "read the apt/dpkg output above; check --mirror and --extra-packages names"
T_MMDEBSTRAP=$(( $(now) - T0 ))
KVER=$(cat "$WORK/kernel-version")
log "mmdebstrap done in ${T_MMDEBSTRAP}s (kernel $KVER)"

# --- plain file edits, no chroot needed
[ ! -e "$ROOT/usr/sbin/policy-rc.d" ] || die "policy-rc.d left in the image" "mmdebstrap should have removed it"
echo "$HOSTNAME_" > "$ROOT/etc/hostname"
cat > "$ROOT/etc/hosts" <<EOF
127.0.0.1	localhost
::1		localhost ip6-localhost ip6-loopback
ff02::1		ip6-allnodes
ff02::2		ip6-allrouters

127.0.1.1	$HOSTNAME_
EOF
rm -f "$ROOT/etc/resolv.conf"
cat > "$ROOT/etc/resolv.conf" <<'EOF'
# Written by NetworkManager at boot; empty placeholder from the pibake base image.
EOF
echo 'LANG=C.UTF-8' > "$ROOT/etc/default/locale"
ln -sfn /usr/share/zoneinfo/Etc/UTC "$ROOT/etc/localtime"
echo 'Etc/UTC' > "$ROOT/etc/timezone"
rm -f "$ROOT/etc/apt/sources.list"
{
  echo "Types: deb"; echo "URIs: $MIRROR"; echo "Suites: $SUITE $SUITE-updates"; echo "Components: $COMPONENTS"
  echo "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
  if [ -n "$SECURITY_MIRROR" ]; then
    echo; echo "Types: deb"; echo "URIs: $SECURITY_MIRROR"; echo "Suites: $SUITE-security"; echo "Components: $COMPONENTS"
    echo "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
  fi
} > "$ROOT/etc/apt/sources.list.d/debian.sources"
rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/*.bin "$ROOT"/var/cache/apt/archives/*.deb \
       "$ROOT"/var/log/apt/* "$ROOT"/var/log/dpkg.log "$ROOT"/var/log/alternatives.log "$ROOT"/var/log/bootstrap.log \
       "$ROOT"/tmp/* "$ROOT"/var/tmp/* "$ROOT"/etc/ssh/ssh_host_* "$ROOT"/root/.bash_history
mkdir -p "$ROOT/var/lib/apt/lists/partial"
# mmdebstrap's own cleanup (after the customize hook) may leave machine-id empty: Pi OS ships "uninitialized"
echo uninitialized > "$ROOT/etc/machine-id"
[ "$(cat "$ROOT/etc/machine-id")" = uninitialized ] || die "machine-id is not 'uninitialized'" "check $ROOT/etc/machine-id"

# --- boot partition contents out of the root tree, leaving the empty mountpoint
find "$ROOT/boot/firmware" -mindepth 1 -maxdepth 1 -exec mv -t "$BOOTDIR" {} +
[ -f "$BOOTDIR/cmdline.txt" ] && [ -f "$BOOTDIR/config.txt" ] || die "cmdline.txt/config.txt missing from /boot/firmware" "raspi-firmware hook did not run"
for f in "vmlinuz-$KVER" "initrd.img-$KVER" bcm2711-rpi-4-b.dtb; do
  [ -f "$BOOTDIR/$f" ] || die "/boot/firmware/$f missing" "raspi-firmware hook output above"
done
[ -f "$BOOTDIR/bcm2712-rpi-5-b.dtb" ] || log "warning: bcm2712-rpi-5-b.dtb not shipped by kernel $KVER (Pi 5 cannot boot it)"
grep -qx "kernel=vmlinuz-$KVER" "$BOOTDIR/config.txt" || die "config.txt does not name vmlinuz-$KVER" "see $BOOTDIR/config.txt"
grep -qx "initramfs initrd.img-$KVER" "$BOOTDIR/config.txt" || die "config.txt does not name initrd.img-$KVER" "see config.txt"
BOOT_KB=$(du -sk "$BOOTDIR" | cut -f1)
[ "$BOOT_KB" -lt $(( 480 * 1024 )) ] || die "boot files take ${BOOT_KB} KiB, more than fits the 512 MiB FAT" "drop extra kernels"

# --- sizes: rootfs = used * 1.25 + 400 MiB, rounded up to 8 MiB
SECTOR=512
P1_START=16384
P1_SECTORS=$(( 512 * 1024 * 1024 / SECTOR ))
P2_START=$(( P1_START + P1_SECTORS ))   # 1064960
USED_KB=$(du -sk --one-file-system "$ROOT" | cut -f1)
NFILES=$(find "$ROOT" -xdev | wc -l)
ROOT_MIB=$(( (USED_KB * 5 / 4 / 1024) + 400 ))
ROOT_MIB=$(( (ROOT_MIB + 7) / 8 * 8 ))
P2_SECTORS=$(( ROOT_MIB * 1024 * 1024 / SECTOR ))
TOTAL_SECTORS=$(( P2_START + P2_SECTORS ))

# --- file systems
T0=$(now)
rm -f "$WORK/root.ext4" "$WORK/boot.fat"
mke2fs -q -t ext4 -L rootfs -E root_owner=0:0 -d "$ROOT" "$WORK/root.ext4" "${ROOT_MIB}M" \
  || die "mke2fs -d failed" "is the work dir on a real file system with enough space?"
truncate -s $(( P1_SECTORS * SECTOR )) "$WORK/boot.fat"
VOLID=$DISK_ID
mkfs.vfat -F 32 -n bootfs -i "$VOLID" "$WORK/boot.fat" >"$WORK/mkfs.log" 2>&1 || { cat "$WORK/mkfs.log" >&2; die "mkfs.vfat failed" "dosfstools in the builder"; }
export MTOOLS_SKIP_CHECK=1
mcopy -s -m -i "$WORK/boot.fat" "$BOOTDIR"/* ::/ || die "mcopy into the FAT failed" "mtools in the builder"

# --- disk image: MBR, 8 MiB alignment like trixie Pi OS
rm -f "$OUT.tmp"
truncate -s $(( TOTAL_SECTORS * SECTOR )) "$OUT.tmp"
sfdisk --quiet --no-reread --no-tell-kernel "$OUT.tmp" >/dev/null <<EOF || die "sfdisk failed to write the table" "image $OUT.tmp"
label: dos
label-id: 0x$DISK_ID
unit: sectors
sector-size: 512

start=$P1_START, size=$P1_SECTORS, type=c
start=$P2_START, size=$P2_SECTORS, type=83
EOF
dd if="$WORK/boot.fat" of="$OUT.tmp" bs=1M seek=$(( P1_START * SECTOR / 1048576 )) conv=notrunc,sparse status=none
dd if="$WORK/root.ext4" of="$OUT.tmp" bs=1M seek=$(( P2_START * SECTOR / 1048576 )) conv=notrunc,sparse status=none
rm -f "$WORK/boot.fat" "$WORK/root.ext4"
T_IMAGE=$(( $(now) - T0 ))

# --- self-check on the assembled image
T0=$(now)
SF=$(sfdisk --json "$OUT.tmp") || die "sfdisk --json cannot read the new image" "table write failed"
python3 - "$SF" "$DISK_ID" "$P1_START" "$P1_SECTORS" "$P2_START" "$P2_SECTORS" <<'EOF' || die "partition table check failed" "see the message above"
import json, sys
t = json.loads(sys.argv[1])["partitiontable"]
disk, s1, n1, s2, n2 = sys.argv[2], *map(int, sys.argv[3:])
p = t["partitions"]
assert t["label"] == "dos", "label is not dos"
assert t["id"].lower() == "0x" + disk, f"disk id {t['id']} != 0x{disk}"
assert len(p) == 2, f"{len(p)} partitions"
assert (p[0]["start"], p[0]["size"], p[0]["type"]) == (s1, n1, "c"), f"p1 {p[0]}"
assert (p[1]["start"], p[1]["size"], p[1]["type"]) == (s2, n2, "83"), f"p2 {p[1]}"
EOF
MBRID=$(dd if="$OUT.tmp" bs=1 skip=440 count=4 status=none | od -An -tx4 --endian=little | tr -d ' \n')
[ "$MBRID" = "$DISK_ID" ] || die "disk id at offset 440 is $MBRID, expected $DISK_ID" "sfdisk label-id"
dd if="$OUT.tmp" of="$WORK/check-p1" bs=1M skip=$(( P1_START * SECTOR / 1048576 )) count=$(( P1_SECTORS * SECTOR / 1048576 )) conv=sparse status=none
fsck.vfat -n "$WORK/check-p1" >/dev/null 2>&1 || die "fsck.vfat -n reports errors on p1" "run fsck.vfat -n on the extracted partition"
[ "$(dd if="$WORK/check-p1" bs=1 skip=71 count=11 status=none | tr -d ' ')" = bootfs ] || die "FAT label is not bootfs" "mkfs.vfat -n"
rm -f "$WORK/check-p1"
dd if="$OUT.tmp" of="$WORK/check-p2" bs=1M skip=$(( P2_START * SECTOR / 1048576 )) conv=sparse status=none
e2fsck -fn "$WORK/check-p2" >/dev/null 2>&1 || die "e2fsck -fn reports errors on p2" "run e2fsck -fn on the extracted partition"
[ "$(e2label "$WORK/check-p2")" = rootfs ] || die "ext4 label is not rootfs" "mke2fs -L"
FSTAB=$(debugfs -R 'cat /etc/fstab' "$WORK/check-p2" 2>/dev/null)
debugfs -R 'stat /boot/firmware' "$WORK/check-p2" 2>/dev/null | grep -q 'Type: directory' || die "/boot/firmware mountpoint missing in rootfs" "bug"
rm -f "$WORK/check-p2"
OFF1=$(( P1_START * SECTOR ))
CMDLINE=$(mtype -i "$OUT.tmp@@$OFF1" ::cmdline.txt | tr -d '\r')
CONFIG=$(mtype -i "$OUT.tmp@@$OFF1" ::config.txt | tr -d '\r')
echo "$FSTAB" | grep -Eq "^PARTUUID=$DISK_ID-01[[:space:]]+/boot/firmware[[:space:]]+vfat[[:space:]]+defaults[[:space:]]+0[[:space:]]+2$" \
  || die "fstab boot line does not name PARTUUID=$DISK_ID-01" "fstab: $FSTAB"
echo "$FSTAB" | grep -Eq "^PARTUUID=$DISK_ID-02[[:space:]]+/[[:space:]]+ext4[[:space:]]+defaults,noatime[[:space:]]+0[[:space:]]+1$" \
  || die "fstab root line does not name PARTUUID=$DISK_ID-02" "fstab: $FSTAB"
[ "$(echo "$FSTAB" | grep -o 'PARTUUID=[0-9a-f]*' | sort -u | sed 's/PARTUUID=//' | sort -u)" = "$DISK_ID" ] \
  || die "fstab names another disk id" "fstab: $FSTAB"
echo "$CMDLINE" | grep -q "root=PARTUUID=$DISK_ID-02 " || die "cmdline.txt root= is not PARTUUID=$DISK_ID-02" "cmdline: $CMDLINE"
[ "$(echo "$CMDLINE" | grep -o 'PARTUUID=[0-9a-f]*' | sed 's/PARTUUID=//' | sort -u)" = "$DISK_ID" ] \
  || die "cmdline.txt names another disk id" "cmdline: $CMDLINE"
for tok in console=serial0,115200 console=tty1 rootfstype=ext4 fsck.repair=yes rootwait; do
  echo " $CMDLINE " | grep -q " $tok " || die "cmdline.txt lacks '$tok'" "cmdline: $CMDLINE"
done
for f in "vmlinuz-$KVER" "initrd.img-$KVER" bcm2711-rpi-4-b.dtb config.txt cmdline.txt; do
  mdir -b -i "$OUT.tmp@@$OFF1" "::$f" >/dev/null 2>&1 || die "$f missing from the boot partition" "mcopy step"
done
T_CHECK=$(( $(now) - T0 ))

# --- base.json
T_TOTAL=$(( $(now) - T_START ))
BOOT_FILES=$(mdir -b -i "$OUT.tmp@@$OFF1" ::/ | sed 's#^::/##')
python3 - "$JSON.tmp" <<EOF || die "writing $JSON failed" "python3 in the builder"
import json, sys, os
pk = []
for line in open("$WORK/packages.tsv"):
    name, ver, status = line.rstrip("\n").split("\t")
    if status.endswith(" installed"):
        pk.append({"name": name, "version": ver})
units = [u for u in open("$WORK/enabled-units.txt").read().split() if u]
boot_files = [f for f in """$BOOT_FILES""".split("\n") if f]
doc = {
  "format": 1,
  "generator": "pibake builder/base/bootstrap-debian.sh",
  "created": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "suite": "$SUITE",
  "architecture": "arm64",
  "layout": "raspios-lite-trixie",
  "hostname": "$HOSTNAME_",
  "kernelVersion": "$KVER",
  "diskId": "$DISK_ID",
  "bootVolumeId": "$VOLID",
  "sectorSize": $SECTOR,
  "sizeBytes": $(( TOTAL_SECTORS * SECTOR )),
  "partitions": [
    {"number": 1, "start": $P1_START, "size": $P1_SECTORS, "type": "c", "fs": "vfat", "label": "bootfs",
     "partuuid": "$DISK_ID-01", "mountpoint": "/boot/firmware"},
    {"number": 2, "start": $P2_START, "size": $P2_SECTORS, "type": "83", "fs": "ext4", "label": "rootfs",
     "partuuid": "$DISK_ID-02", "mountpoint": "/"},
  ],
  "cmdline": """$CMDLINE""".strip(),
  "config": [l for l in """$CONFIG""".split("\n") if l and not l.startswith("#")],
  "fstab": [l for l in """$FSTAB""".split("\n") if l and not l.startswith("#")],
  "packages": pk,
  "summary": {
    "packageCount": len(pk),
    "rootfsUsedKiB": $USED_KB,
    "rootfsFiles": $NFILES,
    "bootfsUsedKiB": $BOOT_KB,
    "bootFiles": boot_files,
    "enabledUnits": units,
    "sshEnabled": any(u in ("ssh.service", "ssh.socket") for u in units),
    "machineId": "uninitialized",
    "sshHostKeys": "absent (generated at first boot by pibake-ssh-keygen.service)",
    "defaultUser": None,
    "firstBoot": ["pibake-ssh-keygen.service", "pibake-sshswitch.service", "pibake-userconf.service",
                  "pibake-expand-rootfs.service"],
    "swap": None,
    "initramfs": {"modules": "list", "compress": "zstd"},
  },
  "timingsSeconds": {"mmdebstrap": $T_MMDEBSTRAP, "initramfs": int(open("$WORK/initramfs-seconds").read()),
                     "image": $T_IMAGE, "check": $T_CHECK, "total": $T_TOTAL},
}
json.dump(doc, open(sys.argv[1], "w"), indent=2)
open(sys.argv[1], "a").write("\n")
EOF
mv -f "$OUT.tmp" "$OUT"
mv -f "$JSON.tmp" "$JSON"
log "done in ${T_TOTAL}s: $OUT ($(du -h --apparent-size "$OUT" | cut -f1) apparent, $(du -h "$OUT" | cut -f1) on disk), $JSON"
log "disk id $DISK_ID, kernel $KVER, cmdline: $(echo $CMDLINE)"
}

case "${1:-}" in
  __essential) hook_essential "$2" ;;
  __customize) hook_customize "$2" ;;
  *) main "$@" ;;
esac
exit 0
