import { describe, expect, it } from 'vitest';
import { check, counterAtLeast, faultFired, judge, type PhaseEvidence } from '../../src/checks/check.js';
import { accessAfter, firstSuccessAfter, localPorts, outcomeCounts, requestsAfter } from '../../src/checks/evidence.js';
import { Timeline } from '../../src/timeline/timeline.js';

function evidence(build: (t: Timeline) => void, extra: Partial<PhaseEvidence> = {}): PhaseEvidence {
  const timeline = new Timeline(1_000_000);
  build(timeline);
  return { timeline, accessLog: [], stats: {}, faults: [], served: {}, envoyVersion: '1.40.0', ips: {}, snapshots: {}, configDump: '{}', ...extra };
}

const req = (t: Timeline, at: number, fields: Record<string, unknown>) => t.add(1_000_000 + at, { kind: 'request', seq: at, at, latencyMs: 5, ...fields } as any);

describe('judge', () => {
  it('never passes a phase that sent no traffic', () => {
    const v = judge([check('always', () => ({ pass: true, evidence: 'x' }))], evidence(() => {}));
    expect(v).toMatchObject({ pass: false, status: 'unknown' });
    expect(v.verdicts[0]!.evidence).toMatch(/no requests/);
  });

  it('fails when one check fails, and keeps every verdict with its evidence', () => {
    const e = evidence((t) => req(t, 0, { status: 200 }));
    const v = judge([check('a', () => ({ pass: true, evidence: 'ok' })), check('b', () => ({ pass: false, evidence: 'got 0' }))], e);
    expect(v.status).toBe('fail');
    expect(v.verdicts.map((x) => x.evidence)).toEqual(['ok', 'got 0']);
  });

  it('turns a crashing check into a failed verdict that says so', () => {
    const e = evidence((t) => req(t, 0, { status: 200 }));
    const v = judge([check('boom', () => { throw new Error('no marker'); })], e);
    expect(v.verdicts[0]).toMatchObject({ pass: false, evidence: 'the check itself failed: no marker' });
  });
});

describe('counter and fault checks', () => {
  it('cites the counter delta', () => {
    const e = evidence(() => {}, { stats: { 'cluster.x.upstream_cx_connect_timeout': 3 } });
    expect(counterAtLeast('cluster.x.upstream_cx_connect_timeout', 4)(e)).toMatchObject({ pass: false, evidence: 'cluster.x.upstream_cx_connect_timeout +3' });
    expect(counterAtLeast('cluster.x.upstream_cx_connect_timeout', 3)(e).pass).toBe(true);
  });

  it('fails a fault that was applied but never fired, and one never applied', () => {
    const e = evidence(() => {}, { faults: [{ host: 'old', fault: 'blackhole', fired: 0, detail: 'dropped 0 SYN(s)' }] });
    expect(faultFired('old', 'blackhole')(e)).toMatchObject({ pass: false, evidence: 'dropped 0 SYN(s)' });
    expect(faultFired('new', 'blackhole')(e).evidence).toMatch(/no blackhole fault was applied to new/);
  });
});

describe('evidence helpers', () => {
  const e = evidence((t) => {
    req(t, 0, { status: 200, servedBy: 'old', localPort: 5000 });
    t.add(1_000_100, { kind: 'marker', category: 'dns', label: 'switch' });
    req(t, 200, { status: 503, localPort: 5000 });
    req(t, 400, { error: 'ECONNRESET', localPort: 5000 });
    req(t, 600, { status: 200, servedBy: 'new', localPort: 6000 });
  }, {
    accessLog: [
      { kind: 'http', ts: new Date(1_000_050).toISOString(), code: 200 },
      { kind: 'http', ts: new Date(1_000_300).toISOString(), code: 503 },
    ],
  });

  it('slices requests and access-log entries by marker', () => {
    expect(requestsAfter(e, 'dns').map((r) => r.t)).toEqual([200, 400, 600]);
    expect(accessAfter(e, 'dns').map((a) => a.code)).toEqual([503]);
  });

  it('describes outcomes and connections in words', () => {
    expect(outcomeCounts(requestsAfter(e, 'dns'))).toBe('1× 503, 1× ECONNRESET, 1× 200 from new');
    expect(localPorts(requestsAfter(e, 'dns'))).toEqual([5000, 6000]);
    expect(firstSuccessAfter(e.timeline.requests(), 100, 'new')).toMatchObject({ afterMs: 505 });
  });
});
