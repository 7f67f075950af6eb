// The files the initramfs drops into the rootfs overlay: a oneshot unit, its runner and one script per guest check.
import type { CpioEntry } from './cpio.ts';
import { PAYLOAD_DIR, UNIT_NAME } from './init-script.ts';
import type { VerifyCheck } from '../stage.ts';

export const PORT_NAME = 'pibake.verify';
export const CONSOLE_PREFIX = 'PIBAKE-VERIFY ';

export function unitFile(): string {
  return `[Unit]
Description=pibake verify checks (qemu snapshot overlay only, never in the image)
DefaultDependencies=no
After=multi-user.target

[Service]
Type=simple
ExecStart=/${PAYLOAD_DIR}/busybox sh /${PAYLOAD_DIR}/run.sh
StandardOutput=journal
StandardError=journal
`;
}

/** Runs every check after boot finished and writes one JSON object per line to the virtio port (or the console). */
export function runnerScript(checkTimeoutSec: number): string {
  return `# pibake verify guest runner (busybox sh)
D=/${PAYLOAD_DIR}
BB=$D/busybox
up() { $BB cut -d' ' -f1 /proc/uptime; }
MU=$(up)
OUT=
i=0
while [ -z "$OUT" ] && [ $i -lt 60 ]; do
  for p in /sys/class/virtio-ports/*; do
    [ -f "$p/name" ] && [ "$($BB cat "$p/name")" = "${PORT_NAME}" ] && OUT=/dev/\${p##*/}
  done
  [ -n "$OUT" ] || { [ $i -eq 0 ] && modprobe virtio_console 2>/dev/null; $BB sleep 0.5; }
  i=$((i+1))
done
emit() {
  if [ -n "$OUT" ]; then printf '%s\\n' "$1" > "$OUT"; else printf '${CONSOLE_PREFIX}%s\\n' "$1" > /dev/console; fi
}
b64() { $BB base64 | $BB tr -d '\\n'; }
emit "{\\"event\\":\\"multi-user\\",\\"uptime\\":$MU,\\"initramfs\\":$($BB cat $D/initramfs-done 2>/dev/null || echo null)}"
STATE=$($BB timeout 600 systemctl is-system-running --wait 2>/dev/null)
emit "{\\"event\\":\\"boot-finished\\",\\"uptime\\":$(up),\\"state\\":\\"$STATE\\"}"
for f in $D/checks/*.sh; do
  [ -f "$f" ] || continue
  id=$($BB basename "$f" .sh); id=\${id#*-}
  t0=$(up)
  out=$(cd / && $BB timeout ${checkTimeoutSec} /bin/sh "$f" 2>&1 < /dev/null)
  rc=$?
  emit "{\\"event\\":\\"check\\",\\"id\\":\\"$id\\",\\"exit\\":$rc,\\"start\\":$t0,\\"end\\":$(up),\\"out\\":\\"$(printf '%s' "$out" | b64)\\"}"
done
# informational, after the checks: systemd-analyze is slow under emulation
# (systemd-analyze blame is left out: its per-unit D-Bus calls take minutes under TCG)
ANALYZE=$($BB timeout 30 systemd-analyze time 2>&1 | b64)
emit "{\\"event\\":\\"analysis\\",\\"analyze\\":\\"$ANALYZE\\"}"
emit "{\\"event\\":\\"done\\",\\"uptime\\":$(up)}"
`;
}

/** A check id as a file name: the runner strips the NNN- ordering prefix again. */
export function checkFileName(index: number, id: string): string {
  return `${String(index).padStart(3, '0')}-${id}.sh`;
}

export function payloadEntries(checks: VerifyCheck[], checkTimeoutSec: number, modulesDisk: boolean): CpioEntry[] {
  const entries: CpioEntry[] = [
    { path: 'payload', mode: 0o040755 },
    { path: 'payload/checks', mode: 0o040755 },
    { path: `payload/${UNIT_NAME}`, mode: 0o100644, data: unitFile() },
    { path: 'payload/run.sh', mode: 0o100755, data: runnerScript(checkTimeoutSec) },
  ];
  if (modulesDisk) entries.push({ path: 'payload/modules-disk', mode: 0o100644, data: '1\n' });
  checks.forEach((c, i) => {
    if (c.guest) entries.push({ path: `payload/checks/${checkFileName(i, c.id)}`, mode: 0o100755, data: c.guest });
  });
  return entries;
}
