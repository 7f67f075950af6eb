// Checks verify always runs (boot health) and those it adds when the image carries the IM server.
import type { VerifyCheck } from '../stage.ts';
import { roundTripCheck } from './im-round-trip.ts';

export const IM_UNIT = 'pibake-im.service';

export function bootChecks(): VerifyCheck[] {
  return [
    {
      id: 'boot.multi-user',
      title: 'multi-user.target reached',
      guest: 'systemctl is-active multi-user.target; r=$?; echo "system $(systemctl is-system-running)"; exit $r',
    },
    {
      id: 'boot.no-failed-units',
      title: 'no failed units',
      guest: `failed=$(systemctl list-units --state=failed --no-legend --plain --no-pager | cut -d' ' -f1)
if [ -n "$failed" ]; then echo "failed: $failed"; for u in $failed; do journalctl -b -u "$u" -n 3 --no-pager -o cat 2>/dev/null | sed "s/^/  $u: /"; done; exit 1; fi
echo none`,
    },
  ];
}

/** Shell lines naming the root partition ($name, e.g. vda2) and its disk ($disk, e.g. vda) in the guest. */
const ROOT_DISK_SH = 'name=$(basename "$(readlink -f "$(findmnt -no SOURCE /)")"); disk=$(lsblk -no PKNAME "/dev/$name" | head -n1)';

/** Where the pibake base's first-boot expansion lives; an image without it (a Pi OS base) expands its own way. */
export const EXPAND_SCRIPT = '/usr/lib/pibake/expand-rootfs';

/**
 * First boot on a card larger than the image: the root partition reaches the end of the disk (verify grows the
 * disk by GROW_MIB) and its ext4 fills the partition; the unit left its stamp so later boots skip it.
 */
export function expandCheck(): VerifyCheck {
  return {
    id: 'boot.rootfs-expanded',
    title: 'first boot expanded the root partition and ext4 to the end of the disk',
    guest: `${ROOT_DISK_SH}
start=$(cat "/sys/class/block/$name/start"); size=$(cat "/sys/class/block/$name/size"); total=$(cat "/sys/class/block/$disk/size")
gap=$((total - start - size)); fs=$(($(stat -f -c '%b*%S' /)))
echo "$name ends $((gap / 2048)) MiB before the end of the $((total / 2048)) MiB disk; ext4 $((fs / 1048576)) MiB of a $((size / 2048)) MiB partition; $(journalctl -b -u pibake-expand-rootfs -o cat --no-pager 2>/dev/null | grep 'expand-rootfs:' | tail -n1)"
[ -e /var/lib/pibake/rootfs-expanded ] || { echo "no stamp /var/lib/pibake/rootfs-expanded"; exit 1; }
[ "$gap" -lt 16384 ] && [ "$fs" -gt $((size * 512 / 100 * 90)) ]`,
  };
}

/** Where the pibake base's first-boot disk id renewal lives (Pi OS renews it its own way). */
export const DISK_ID_SCRIPT = '/usr/lib/pibake/new-disk-id';

/**
 * First boot gave the card its own disk id: the renewal started from the image's id (read on the host), the MBR says the new id, the root partition probes as <new>-02,
 * fstab, cmdline.txt and /etc/default/raspi-firmware all name it and no longer the old one, and /boot/firmware is
 * mounted again (the change drops the old PARTUUID links its mount was bound to).
 */
export function diskIdCheck(imageDiskId: string): VerifyCheck {
  return {
    id: 'boot.disk-id-renewed',
    title: 'first boot gave the card a disk id of its own, named consistently',
    guest: `${ROOT_DISK_SH}
line=$(journalctl -b -u pibake-new-disk-id -o cat --no-pager 2>/dev/null | grep 'new-disk-id:' | tail -n1)
id=$(sfdisk --disk-id "/dev/$disk"); id=\${id#0x}; part=$(blkid -p -s PART_ENTRY_UUID -o value "/dev/$name")
boot=$(findmnt -no SOURCE /boot/firmware || echo 'not mounted')
echo "$line; MBR id $id; $name probes as $part; /boot/firmware from $boot"
[ "$boot" != 'not mounted' ] || exit 1
case $line in *" -> $id") ;; *) exit 1 ;; esac
old=\${line#new-disk-id: }; old=\${old%% ->*}
[ "$old" = ${JSON.stringify(imageDiskId)} ] || { echo "renewed from $old, but the image's disk id (read on the host) is ${imageDiskId}"; exit 1; }
[ "$part" = "$id-0\${name##*[!0-9]}" ] || exit 1
for f in /etc/fstab /boot/firmware/cmdline.txt /etc/default/raspi-firmware; do
  grep -q "PARTUUID=$id-" "$f" || { echo "$f does not name PARTUUID=$id-"; exit 1; }
  ! grep -q "PARTUUID=$old-" "$f" || { echo "$f still names PARTUUID=$old-"; exit 1; }
done`,
  };
}

export function imChecks(unit = IM_UNIT): VerifyCheck[] {
  return [
    {
      id: 'im.unit-active',
      title: `${unit} active`,
      guest: `systemctl is-active ${unit} && systemctl show -p MainPID,NRestarts --value ${unit} | tr '\\n' ' '`,
    },
    {
      id: 'im.healthz',
      title: '/healthz answers through the forwarded port',
      host: async ({ httpBase }) => {
        const res = await fetch(`${httpBase}/healthz`, { signal: AbortSignal.timeout(10_000) });
        const body = (await res.text()).slice(0, 200);
        if (!res.ok) throw new Error(`HTTP ${res.status}: ${body}`);
        return `HTTP ${res.status} ${body}`;
      },
    },
    roundTripCheck(),
  ];
}
