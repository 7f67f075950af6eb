// The unit file behind a systemd unit name: an instance (getty@tty2.service) is backed by its template (getty@.service).
export function unitFileName(unit: string): string {
  return unit.replace(/@[^/]*(\.[a-z]+)$/, '@$1');
}
