// Workshop mode's narrator without a lab: --step waits for Enter before a step that changes the
// world and not before a mere wait; a closed input lets the run go on by itself; the live view
// reports the requests since the last step; a connection table is shown without LISTEN noise.
import { PassThrough } from 'node:stream';
import pc from 'picocolors';
import { describe, expect, it } from 'vitest';
import { Timeline } from '../../src/timeline/timeline.js';
import { WorkshopNarrator } from '../../src/workshop/narrator.js';

function narrator(step: boolean) {
  const input = new PassThrough();
  let out = '';
  const n = new WorkshopNarrator({ step, colors: pc.createColors(false), tty: false, write: (t) => (out += t), input });
  return { n, input, out: () => out };
}

const settled = async (p: Promise<unknown>) => Promise.race([p.then(() => true), new Promise((r) => setTimeout(() => r(false), 50))]);

describe('workshop narrator', () => {
  it('--step: a pausing step waits for Enter; a wait does not', async () => {
    const { n, input, out } = narrator(true);
    const fault = n.before('fault: blackhole on old', { why: 'SYNs dropped', pause: true });
    expect(await settled(fault)).toBe(false);
    input.write('\n');
    expect(await settled(fault)).toBe(true);
    expect(await settled(n.before('wait for 3 requests'))).toBe(true);
    expect(out()).toContain('→ fault: blackhole on old\n    SYNs dropped\n    [Enter] ');
    n.close();
  });

  it('a closed input ends stepping: the run goes on by itself', async () => {
    const { n, input } = narrator(true);
    input.end();
    expect(await settled(n.before('DNS: point test-com.test at new', { pause: true }))).toBe(true);
    expect(await settled(n.before('fault', { pause: true }))).toBe(true);
    n.close();
  });

  it('--narrate: never waits, and shows the requests since the last step', async () => {
    const { n, out } = narrator(false);
    const t = new Timeline(0);
    n.watch(t);
    t.add(10, { kind: 'request', seq: 1, at: 10, latencyMs: 3, status: 200, localPort: 4000 });
    t.add(20, { kind: 'request', seq: 2, at: 20, latencyMs: 1001, status: 503, body: 'upstream connect error', localPort: 4000 });
    expect(await settled(n.before('DNS switch', { pause: true }))).toBe(true);
    expect(out()).toContain('app ▸ .x   (2 since the last step; last #2 503 upstream connect error (1001 ms, conn :4000))');
    n.show('connections in pod', 'State Recv-Q\nLISTEN 0 0 *:15001\nSYN-SENT 0 1 10.0.0.1:5 10.0.0.2:80\n');
    expect(out()).toContain('    SYN-SENT 0 1 10.0.0.1:5 10.0.0.2:80');
    expect(out()).not.toContain('LISTEN');
    n.close();
  });
});
