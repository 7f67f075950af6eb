#!/bin/bash
# Installs Prosody + ejabberd (Debian packages) for `npm run bench -- --compare` without ever starting their services.
# Usage (root): bash install-servers.sh     Called by bench/compare/prereqs.mjs when a package is missing.
# Package install scripts must not start the Debian service instances: a deny-all /usr/sbin/policy-rc.d (exit 101)
# is put in place for the install (an existing one that does not deny is moved aside and restored afterwards), and
# the services are disabled afterwards (systemd is usually not PID 1 here, so update-rc.d as well), as in the
# W1 anchors' README. The bench never uses the Debian instances: it runs its own configs, data dirs and node names.
set -euo pipefail
PKGS=(prosody lua-dbi-sqlite3 sqlite3 ejabberd erlang-p1-sqlite3)
SERVICES=(prosody ejabberd)
POLICY=/usr/sbin/policy-rc.d
SAVED=$POLICY.pibake-bench-saved

die() { echo "install-servers.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (apt-get install)"
command -v apt-get >/dev/null || die "apt-get not found (needs a Debian host)"

restore_policy() {
  if [ -e "$SAVED" ]; then mv -f "$SAVED" "$POLICY"
  elif [ -n "${CREATED:-}" ]; then rm -f "$POLICY"; fi
}
CREATED=
rc=0; [ -x "$POLICY" ] && { "$POLICY" prosody start >/dev/null 2>&1 || rc=$?; }
if [ ! -e "$POLICY" ]; then CREATED=1
elif [ "$rc" != 101 ]; then mv -f "$POLICY" "$SAVED"      # exists but would allow starts: replace for the install
fi
trap restore_policy EXIT
if [ -n "$CREATED" ] || [ -e "$SAVED" ]; then
  printf '#!/bin/sh\n# temporary (bench/compare/install-servers.sh): no service starts during package installs\nexit 101\n' > "$POLICY"
  chmod 755 "$POLICY"
fi

export DEBIAN_FRONTEND=noninteractive
APT=(apt-get -o DPkg::Lock::Timeout=600 -y -q)
if ! "${APT[@]}" install "${PKGS[@]}"; then
  echo "install-servers.sh: install failed; refreshing package lists and retrying" >&2
  "${APT[@]}" update
  "${APT[@]}" install "${PKGS[@]}"
fi

# Disable (and, should one be running after all, stop) the packages' own service instances.
for s in "${SERVICES[@]}"; do
  if command -v systemctl >/dev/null; then systemctl disable "$s" >/dev/null 2>&1 || true; fi
  if command -v update-rc.d >/dev/null; then update-rc.d "$s" disable >/dev/null 2>&1 || true; fi
done
if pgrep -u prosody -x lua5.4 >/dev/null 2>&1 || pgrep -u prosody prosody >/dev/null 2>&1; then /etc/init.d/prosody stop || true; fi
if pgrep -u ejabberd beam.smp >/dev/null 2>&1; then /etc/init.d/ejabberd stop || true; fi
echo "install-servers.sh: installed ${PKGS[*]}; services ${SERVICES[*]} disabled"
