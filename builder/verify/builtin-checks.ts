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
