import { describe, expect, it } from 'vitest';
import { all, any, check, judge, judgeDocumented } from '../../src/checks/check.js';
import { everyAccessEntry, noAccessEntries } from '../../src/checks/access-log.js';
import { connectionTableShows } from '../../src/checks/connections.js';
import { routeHas } from '../../src/checks/config-dump.js';
import { counterGrew, counterStayedZero } from '../../src/checks/counters.js';
import { faultFired, faultNeverFired } from '../../src/checks/faults.js';
import { everyRequest, oneConnection } from '../../src/checks/requests.js';
import { accessAfter, firstSuccessAfter, localPorts, outcomeCounts, requestsAfter, requestsIn } from '../../src/checks/slices.js';
import { Evidence, EvidenceMissing, type EvidenceData } from '../../src/evidence/evidence.js';
import { Timeline, USER_APP_STARTED } from '../../src/timeline/timeline.js';

const T0 = 1_000_000;

function evidence(build: (t: Timeline) => void, extra: Partial<EvidenceData> = {}): Evidence {
  const timeline = new Timeline(T0);
  build(timeline);
  return new Evidence({
    scenario: 's',
    phase: 'p',
    envoyVersion: '1.40.0',
    timeline: { startedAt: T0, entries: timeline.entries },
    accessLog: [],
    statsBefore: {},
    statsAfter: {},
    faults: [],
    served: {},
    ips: {},
    snapshots: {},
    configDump: '{}',
    ...extra,
  });
}

const req = (t: Timeline, at: number, fields: Record<string, unknown>) => t.add(T0 + at, { kind: 'request', seq: at, at, latencyMs: 5, ...fields } as any);
const oneRequest = (t: Timeline) => req(t, 0, { status: 200 });

describe('judge', () => {
  it('never passes a phase that sent no traffic', () => {
    const v = judge([check('always', () => ({ pass: true, evidence: 'x' }))], evidence(() => {}));
    expect(v.status).toBe('unknown');
    expect(v.verdicts[0]!.evidence).toMatch(/no requests/);
  });

  it('fails when one check fails, and keeps every verdict with its evidence', () => {
    const v = judge([check('a', () => ({ pass: true, evidence: 'ok' })), check('b', () => ({ pass: false, evidence: 'got 0' }))], evidence(oneRequest));
    expect(v.status).toBe('fail');
    expect(v.verdicts.map((x) => x.evidence)).toEqual(['ok', 'got 0']);
  });

  it('is UNKNOWN, not PASS, when a check lacks its evidence and none failed', () => {
    const v = judge([check('a', () => ({ pass: true, evidence: 'ok' })), counterStayedZero('no retry', 'cluster.x.upstream_rq_retry')], evidence(oneRequest));
    expect(v.status).toBe('unknown');
  });

  it('turns a crashing check into a failed verdict that says so', () => {
    const v = judge([check('boom', () => { throw new Error('bad index'); })], evidence(oneRequest));
    expect(v.verdicts[0]).toMatchObject({ status: 'fail', evidence: 'the check itself failed: bad index' });
  });
});

describe('absent evidence is never a zero', () => {
  it('a counter Envoy does not have: "stayed at 0" and "grew" are both UNKNOWN, naming the stat', () => {
    const e = evidence(oneRequest, { statsBefore: { 'cluster.real.upstream_rq_total': 1 }, statsAfter: { 'cluster.real.upstream_rq_total': 1 } });
    for (const c of [counterStayedZero('why', 'cluster.misspelt.upstream_rq_total'), counterGrew('why', 'cluster.misspelt.upstream_rq_total', 1)]) {
      expect(c(e)).toMatchObject({ status: 'unknown', evidence: expect.stringMatching(/cluster\.misspelt\.upstream_rq_total: Envoy has no such stat/) });
    }
    expect(counterStayedZero('why', 'cluster.real.upstream_rq_total')(e).status).toBe('pass');
  });

  it('no stats snapshot at all is UNKNOWN', () => {
    const e = evidence(oneRequest, { statsAfter: null });
    expect(counterStayedZero('why', 'x')(e).status).toBe('unknown');
  });

  it('a counter that appears during the phase counts from 0', () => {
    const e = evidence(oneRequest, { statsBefore: {}, statsAfter: { 'cluster.x.upstream_cx_connect_timeout': 3 } });
    expect(counterGrew('why', 'cluster.x.upstream_cx_connect_timeout', 4)(e)).toMatchObject({ status: 'fail', evidence: 'cluster.x.upstream_cx_connect_timeout +3' });
    expect(counterGrew('why', 'cluster.x.upstream_cx_connect_timeout', 3)(e).status).toBe('pass');
  });

  it('a missing access-log file is UNKNOWN, an empty one is evidence', () => {
    expect(noAccessEntries('none')(evidence(oneRequest, { accessLog: null })).status).toBe('unknown');
    expect(noAccessEntries('none')(evidence(oneRequest, { accessLog: [] })).status).toBe('pass');
  });

  it('"on one downstream connection" means one per app in the pod: two pinned connections pass only when your app ran beside the lab client', () => {
    const uf = (cx: number, ms: number) => ({ kind: 'http', ts: new Date(T0 + ms).toISOString(), code: 503, flags: 'UF', cx }) as any;
    const accessLog = [uf(2, 10), uf(4, 20), uf(2, 30), uf(4, 40)];
    const c = everyAccessEntry('pinned', { kind: 'http', min: 3, oneDownstreamConnection: true }, (a) => a.code === 503);
    expect(c(evidence(oneRequest, { accessLog })).status).toBe('fail');
    const withYourApp = evidence((t) => {
      oneRequest(t);
      t.add(T0 + 1, { kind: 'event', source: 'app-command', what: USER_APP_STARTED, detail: 'go-http' } as any);
    }, { accessLog });
    expect(c(withYourApp)).toMatchObject({ status: 'pass', evidence: expect.stringContaining('2 apps in the pod') });
    expect(c(evidence((t) => t.add(T0 + 1, { kind: 'event', source: 'app-command', what: USER_APP_STARTED, detail: 'x' } as any), { accessLog: [...accessLog, uf(5, 50)] })).status).toBe('fail');
  });

  it("an entry Envoy started in the millisecond the lab stopped the app is the app's last request; one after the stop is not", () => {
    const entry = (ms: number) => ({ kind: 'http', ts: new Date(T0 + ms).toISOString(), code: 431, flags: 'DPE', cx: ms }) as any;
    const c = everyAccessEntry('three 431', { kind: 'http', min: 3 }, (a) => a.code === 431);
    const stoppedAt = (t: Timeline) => {
      oneRequest(t);
      t.add(T0 + 30, { kind: 'event', source: 'lab', what: 'app stopped', detail: '' } as any);
    };
    expect(c(evidence(stoppedAt, { accessLog: [entry(10), entry(20), entry(30)] })).status).toBe('pass');
    expect(c(evidence(stoppedAt, { accessLog: [entry(10), entry(20), entry(31)] })).status).toBe('fail');
  });

  it('a connection table the phase never took is UNKNOWN', () => {
    const c = connectionTableShows('ss', 'after the switch', [{ state: 'ESTAB', peer: (ip) => `${ip('old')}:80`, process: 'node' }]);
    expect(c(evidence(oneRequest, { ips: { old: '198.18.0.21' } })).status).toBe('unknown');
    const table = 'ESTAB 0 0 198.18.0.10:4000 198.18.0.21:80 users:(("node",pid=1,fd=3))';
    expect(c(evidence(oneRequest, { ips: { old: '198.18.0.21' }, snapshots: { 'after the switch': table } })).status).toBe('pass');
  });

  it('a slice after a marker the phase never set is UNKNOWN', () => {
    const c = everyRequest('503 after the switch', { after: 'dns' }, (r) => r.status === 503);
    expect(c(evidence(oneRequest))).toMatchObject({ status: 'unknown', evidence: expect.stringMatching(/"dns" marker/) });
  });

  it('a selection with fewer requests than required fails', () => {
    const c = everyRequest('503s', { min: 3 }, (r) => r.status === 503);
    expect(c(evidence((t) => req(t, 0, { status: 503 }))).status).toBe('fail');
  });
});

describe('fault checks', () => {
  it('fail a fault that was applied but never fired, and one never applied', () => {
    const e = evidence(oneRequest, { faults: [{ host: 'old', fault: 'blackhole', fired: 0, detail: 'dropped 0 SYN(s)' }] });
    expect(faultFired('old', 'blackhole')(e)).toMatchObject({ status: 'fail', evidence: 'dropped 0 SYN(s)' });
    expect(faultFired('new', 'blackhole')(e).evidence).toMatch(/no blackhole fault was injected on new/);
  });

  it('"never fired" needs the fault to have been in place', () => {
    const armed = evidence(oneRequest, { faults: [{ host: 'app', fault: 'reset-idle-reuse', fired: 0, detail: 'armed' }] });
    expect(faultNeverFired('never', 'app', 'reset-idle-reuse')(armed).status).toBe('pass');
    expect(faultNeverFired('never', 'app', 'reset-idle-reuse')(evidence(oneRequest)).status).toBe('fail');
  });
});

describe('route checks', () => {
  // A sidecar's inbound route is inline in virtualInbound's connection manager, not in RDS.
  const inbound = (route: Record<string, unknown>) =>
    JSON.stringify({
      configs: [
        {
          dynamic_listeners: [{ active_state: { listener: { name: 'virtualInbound', filter_chains: [{ filters: [{ typed_config: { route_config: { name: 'inbound|8080||', virtual_hosts: [{ domains: ['*'], routes: [{ route }] }] } } }] }] } } }],
        },
      ],
    });
  const retries = routeHas('inbound retry', { route: 'inbound|8080||', domain: '*', field: 'retry_policy' }, (p) => p?.num_retries === 2);

  it('find a route config inline in a listener', () => {
    expect(retries(evidence(oneRequest, { configDump: inbound({ retry_policy: { num_retries: 2 } }) })).status).toBe('pass');
    expect(retries(evidence(oneRequest, { configDump: inbound({}) }))).toMatchObject({ status: 'fail', evidence: 'route "inbound|8080||" *: retry_policy = (not set)' });
  });

  it('say unknown when no listener or RDS has the route config', () => {
    expect(retries(evidence(oneRequest)).evidence).toMatch(/route config "inbound\|8080\|\|" in \/config_dump/);
    expect(retries(evidence(oneRequest)).status).toBe('unknown');
  });
});

describe('evidence slices', () => {
  const e = evidence(
    (t) => {
      req(t, 0, { status: 200, servedBy: 'old', localPort: 5000 });
      t.add(T0 + 100, { kind: 'marker', category: 'dns', label: 'switch' });
      req(t, 200, { status: 503, localPort: 5000 });
      req(t, 400, { error: 'ECONNRESET', localPort: 5000 });
      req(t, 600, { status: 200, servedBy: 'new', localPort: 6000 });
    },
    {
      accessLog: [
        { kind: 'http', ts: new Date(T0 + 50).toISOString(), code: 200 },
        { kind: 'http', ts: new Date(T0 + 300).toISOString(), code: 503 },
      ],
    },
  );

  it('slice requests and access-log entries by marker', () => {
    expect(requestsAfter(e, 'dns').map((r) => r.t)).toEqual([200, 400, 600]);
    expect(requestsIn(e, { before: 'dns' }).map((r) => r.t)).toEqual([0]);
    expect(accessAfter(e, 'dns').map((a) => a.code)).toEqual([503]);
  });

  it('describe outcomes and connections in words', () => {
    expect(outcomeCounts(requestsAfter(e, 'dns'))).toBe('1× 503, 1× ECONNRESET, 1× 200 from new');
    expect(localPorts(requestsAfter(e, 'dns'))).toEqual([5000, 6000]);
    expect(firstSuccessAfter(e.timeline.requests(), 100, 'new')).toMatchObject({ afterMs: 505 });
  });

  it('one-connection checks see the kept-alive port', () => {
    expect(oneConnection('pinned', { after: 'dns', where: (r) => r.status === 503, openedBefore: 'dns' })(e).status).toBe('pass');
    expect(oneConnection('pinned', { after: 'dns', openedBefore: 'dns' })(e).status).toBe('fail');
  });
});

describe('documented symptoms expected gone on newer Envoy', () => {
  const symptom = (shows: boolean) => check('the 1 s delay', () => ({ pass: shows, evidence: shows ? 'closed after 1000 ms' : 'closed after 1 ms' }));
  const trigger = (applied: boolean) => check('the request was sent', () => ({ pass: applied, evidence: applied ? '4 sent' : 'none sent' }));
  const doc = (shows: boolean, applied: boolean) => [{ symptom: symptom(shows), goneFrom: '1.36.0', trigger: [trigger(applied)], why: 'measured' }];
  const e = evidence(oneRequest);

  it('is proven gone when the trigger fired and the symptom did not show', () => {
    const r = judgeDocumented(doc(false, true), e, () => 'Envoy 1.40.0 (expected from 1.36.0)');
    expect(r.gone).toBe(true);
    expect(r.verdicts[0]).toMatchObject({ status: 'pass', label: expect.stringMatching(/^gone on Envoy 1\.40\.0 \(expected from 1\.36\.0\)/), evidence: expect.stringMatching(/closed after 1 ms; trigger: ✓ the request was sent/) });
  });

  it('fails when the symptom shows again on a version where it was expected gone', () => {
    expect(judgeDocumented(doc(true, true), e, () => 'Envoy 1.40.0').verdicts[0]!.status).toBe('fail');
  });

  it('is UNKNOWN when the trigger was not applied: absence proves nothing', () => {
    const r = judgeDocumented(doc(false, false), e, () => 'Envoy 1.40.0');
    expect(r).toMatchObject({ gone: false, verdicts: [{ status: 'unknown' }] });
  });

  it('is an ordinary check before the version it is expected gone from', () => {
    expect(judgeDocumented(doc(false, true), e, () => undefined).verdicts[0]).toMatchObject({ status: 'fail', label: 'the 1 s delay' });
  });

  it('with several symptom checks the first decides: gone when it fails, shown again when all pass, and all are required where it is expected', () => {
    const many = (first: boolean, rest: boolean) => [{ symptom: [symptom(first), check('its mechanism', () => ({ pass: rest, evidence: 'x' }))], trigger: [trigger(true)], why: 'measured' }];
    expect(judgeDocumented(many(false, false), e, () => 'Istio v0.0.0-20260423205519-b01690e6db7d').gone).toBe(true);
    expect(judgeDocumented(many(true, true), e, () => 'Istio v0.0.0-20260423205519-b01690e6db7d').verdicts[0]!.status).toBe('fail');
    expect(judgeDocumented(many(true, false), e, () => undefined).verdicts.map((v) => v.status)).toEqual(['pass', 'fail']);
  });
});

describe('all / any: several checks judged as one', () => {
  const passing = check('p', () => ({ pass: true, evidence: 'yes' }));
  const failing = check('f', () => ({ pass: false, evidence: 'no' }));
  const missing = check('m', () => {
    throw new EvidenceMissing('the access log');
  });
  const e = evidence(() => {});
  it('all passes only when every check passes, and fails on one failure even beside an unknown', () => {
    expect(all('both', passing, passing)(e)).toMatchObject({ label: 'both', status: 'pass', evidence: '✓ p: yes; ✓ p: yes' });
    expect(all('both', passing, failing)(e).status).toBe('fail');
    expect(all('both', missing, failing)(e).status).toBe('fail');
    expect(all('both', passing, missing)(e).status).toBe('unknown');
  });
  it('any passes on one pass, fails only when every check fails, and is unknown otherwise', () => {
    expect(any('either', failing, passing)(e).status).toBe('pass');
    expect(any('either', failing, failing)(e).status).toBe('fail');
    expect(any('either', failing, missing)(e).status).toBe('unknown');
  });
});
