#!/bin/bash
# Purpose: debootstrap a small Debian trixie amd64 root filesystem for the pibake builder container (run on the host as root).
#
# Usage: make-builder-rootfs.sh <mirror-url> <out-dir>
#   <mirror-url>  Debian archive URL (e.g. the one in the host's apt sources)
#   <out-dir>     directory to create the rootfs in (must be empty or absent); nothing else on the host is written
# Then: tar -C <out-dir> -c . | docker import - pibake-builder:<key>
# Packages come from packages.txt next to this script (one per line, '#' comments).
set -euo pipefail

SUITE=trixie
ARCH=amd64
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

die() { echo "make-builder-rootfs: error: $1${2:+ (hint: $2)}" >&2; exit 1; }

[ $# -eq 2 ] || die "expected 2 arguments, got $#" "usage: $0 <mirror-url> <out-dir>"
MIRROR=$1
OUT=$2
[ "$(id -u)" -eq 0 ] || die "must run as root" "debootstrap needs root (chroot, mknod)"
command -v debootstrap >/dev/null || die "debootstrap not found on the host" "apt-get install debootstrap"
[ -r "$HERE/packages.txt" ] || die "missing $HERE/packages.txt" "the package list belongs next to this script"
case $MIRROR in http://*|https://*|file:/*) ;; *) die "mirror '$MIRROR' is not a URL" "pass e.g. the URI from /etc/apt/sources.list.d/*.sources";; esac
if [ -e "$OUT" ] && [ -n "$(ls -A "$OUT" 2>/dev/null)" ]; then
  die "output directory $OUT is not empty" "remove it or pass a fresh path"
fi
mkdir -p "$OUT"

PKGS=$(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$HERE/packages.txt" | grep -v '^$' | paste -sd, -)
[ -n "$PKGS" ] || die "packages.txt lists no packages" "one package name per line"

ok=0
cleanup() {
  if [ "$ok" -ne 1 ]; then
    echo "make-builder-rootfs: failed; partial rootfs left in $OUT (debootstrap log: $OUT/debootstrap/debootstrap.log if present)" >&2
  fi
}
trap cleanup EXIT

start=$(date +%s)
echo "make-builder-rootfs: debootstrap $SUITE/$ARCH minbase into $OUT"
debootstrap --arch="$ARCH" --variant=minbase --components=main \
  --include="$PKGS" "$SUITE" "$OUT" "$MIRROR" \
  || die "debootstrap failed" "see $OUT/debootstrap/debootstrap.log; check the mirror URL and that the host debootstrap knows '$SUITE'"

# apt sources for the container (handy for debugging); the bootstrap scripts take the mirror as an argument anyway.
mkdir -p "$OUT/etc/apt/sources.list.d"
rm -f "$OUT/etc/apt/sources.list"
cat > "$OUT/etc/apt/sources.list.d/debian.sources" <<SRC
Types: deb
URIs: $MIRROR
Suites: $SUITE
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC

# Small and reproducible-ish: no caches, lists, logs, docs, man pages.
rm -rf "$OUT"/var/cache/apt/archives/*.deb "$OUT"/var/cache/apt/*.bin \
       "$OUT"/var/lib/apt/lists/* "$OUT"/var/log/*.log "$OUT"/var/log/apt/* \
       "$OUT"/usr/share/doc/* "$OUT"/usr/share/man/* "$OUT"/usr/share/info/* \
       "$OUT"/tmp/* "$OUT"/var/tmp/*
mkdir -p "$OUT/var/lib/apt/lists/partial"
# No host identity in the image: docker provides resolv.conf/hostname/hosts at run time.
: > "$OUT/etc/resolv.conf"
echo pibake-builder > "$OUT/etc/hostname"
echo uninitialized > "$OUT/etc/machine-id" 2>/dev/null || true
# Mark it for scripts that want to know they run in the builder.
echo "pibake-builder $SUITE $ARCH $(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$OUT/etc/pibake-builder"

# Sanity: the tools the engine calls must be there.
for t in python3 mmdebstrap mkfs.vfat mcopy mdir mke2fs e2fsck resize2fs debugfs sfdisk losetup mount xz zstd bmaptool systemctl systemd-analyze cpio file rsync; do
  chroot "$OUT" sh -c "command -v $t" >/dev/null || die "tool '$t' missing in the builder rootfs" "add its package to packages.txt"
done

ok=1
echo "make-builder-rootfs: done in $(( $(date +%s) - start ))s, $(du -sh "$OUT" | cut -f1)"
