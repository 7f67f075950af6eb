// The guest kernel command line: the image's cmdline.txt minus what only fits a real Pi, plus what verify needs.
const DROP = [/^root=/, /^rootfstype=/, /^rootwait$/, /^console=/, /^init=/, /^resize$/, /^quiet$/, /^splash$/, /^plymouth\./,
  /^systemd\.run/, /^systemd\.unit=/, /^cfg80211\./, /^fsck\.repair=/, /^ds=/, /^cloud-init=/];

export function guestCmdline(cmdlineTxt: string | undefined, rootDevice: string): string {
  const kept = (cmdlineTxt ?? '').trim().split(/\s+/).filter((t) => t && !DROP.some((re) => re.test(t)));
  return [
    'console=ttyAMA0',
    `pibake.root=${rootDevice}`,
    'rw',
    'panic=-1',
    'systemd.firstboot=off', // no interactive first-boot prompts on the serial console
    'net.ifnames=0', // the virtio NIC is eth0, as the Pi's own NIC is, so the image's network config applies
    ...kept,
  ].join(' ');
}
