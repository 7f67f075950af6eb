// Verify results as data (written as JSON) and as the pass/fail table printed at the end.
export type CheckStatus = 'pass' | 'fail' | 'skip';

export interface CheckResult {
  id: string;
  title: string;
  source: string; // "builtin" or "stage:<name>"
  status: CheckStatus;
  detail: string;
  seconds?: number;
}

export interface BootTimings {
  /** guest uptime when multi-user.target was reached (kernel start -> multi-user) */
  multiUserSec?: number;
  /** guest uptime when the boot job queue was empty (systemctl is-system-running --wait) */
  bootFinishedSec?: number;
  /** host clock: qemu started -> /healthz answered through the forwarded port */
  powerOnToServerSec?: number;
  /** guest uptime when the verify initramfs switched to the image's systemd */
  initramfsSec?: number;
  systemdAnalyze?: string;
}

export interface BootReport {
  role: 'image' | 'base';
  image: string;
  kernel: string;
  systemState?: string;
  timings: BootTimings;
  checks: CheckResult[];
  consoleLog: string;
  consoleTail?: string; // set when the boot did not finish
}

export interface VerifyReport {
  ok: boolean;
  startedAt: string;
  durationSec: number;
  /** The definition whose stage checks ran (absent: only the built-in checks). */
  definition?: string;
  boots: BootReport[];
  compare?: { imageMultiUserSec?: number; baseMultiUserSec?: number; ratio?: number };
  reportFile: string;
}

const fmtSec = (s?: number): string => (s === undefined ? '—' : `${s.toFixed(1)} s`);

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

const oneLine = (s: string, max = 90): string => {
  const l = s.replace(/\s*\n\s*/g, ' | ').trim();
  return l.length > max ? `${l.slice(0, max - 1)}…` : l;
};

export function formatBoot(b: BootReport): string {
  const mark = { pass: 'PASS', fail: 'FAIL', skip: 'skip' } as const;
  const rows = [['', 'check', 'source', 'detail'], ...b.checks.map((c) => [mark[c.status], c.id, c.source, oneLine(c.detail)])];
  const t = b.timings;
  const lines = [
    `${b.role === 'base' ? 'base image' : 'image'}: ${b.image}  (kernel ${b.kernel}${b.systemState ? `, system ${b.systemState}` : ''})`,
    table(rows),
    `boot: multi-user ${fmtSec(t.multiUserSec)}, boot finished ${fmtSec(t.bootFinishedSec)}, power-on -> server answering ${fmtSec(t.powerOnToServerSec)}` +
      (t.initramfsSec !== undefined ? `, verify initramfs ${fmtSec(t.initramfsSec)}` : ''),
    `console log: ${b.consoleLog}`,
  ];
  if (b.consoleTail) lines.push('--- console tail ---', b.consoleTail, '---');
  return lines.join('\n');
}

export function formatReport(r: VerifyReport): string {
  const parts = r.boots.map(formatBoot);
  if (r.compare) {
    const c = r.compare;
    parts.push(`boot to multi-user: image ${fmtSec(c.imageMultiUserSec)}, base ${fmtSec(c.baseMultiUserSec)}, ratio image/base ${c.ratio === undefined ? '—' : c.ratio.toFixed(2)}`);
  }
  const failed = r.boots.flatMap((b) => b.checks).filter((c) => c.status === 'fail').length;
  parts.push(`${r.ok ? 'verify passed' : `verify FAILED (${failed} failing check${failed === 1 ? '' : 's'})`} in ${r.durationSec.toFixed(0)} s; report: ${r.reportFile}`);
  return parts.join('\n\n');
}
