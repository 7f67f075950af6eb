// The reporter in plain (CI) mode: timed step lines, and a heartbeat while a long silent step runs.
import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { createReporter } from '../../builder/reporter.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('reporter (plain output)', () => {
  it('a long step says it is still running, and stops saying so when it ends', async () => {
    const stream = new PassThrough();
    let text = '';
    stream.on('data', (d) => (text += d));
    const r = createReporter({ stream: stream as unknown as NodeJS.WriteStream, heartbeatMs: 40 });
    const s = r.step('compress x.img.xz (xz -6 -T0)');
    await sleep(130);
    s.done();
    await sleep(100);
    const lines = text.trim().split('\n').map((l) => l.replace(/^\[\s*[\d.]+s\] /, ''));
    expect(lines[0]).toBe('▶ compress x.img.xz (xz -6 -T0)');
    expect(lines.filter((l) => /^ {2}… compress x\.img\.xz \(xz -6 -T0\): still running \(\d+ s\)$/.test(l)).length).toBeGreaterThanOrEqual(2);
    expect(lines.at(-1)).toMatch(/^✓ compress x\.img\.xz \(xz -6 -T0\) \(0\.\ds\)$/);
  });
});
