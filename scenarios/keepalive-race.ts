/**
 * keepalive-race: sporadic 503 UC "upstream connect error or disconnect/reset before headers.
 * reset reason: connection termination" after idle periods.
 *
 * Reported  seed 003 (../shared/seeds/003_06cfa856d656aa2a.txt, "confusing 503s", DKube);
 *           seed 001 §9; envoyproxy/envoy#47468 (reset-before-request does not cover it).
 * Symptom   Now and then a request through the sidecar fails with 503, flag UC; refreshing helps.
 *           tcpdump shows the upstream (Node.js) answering a reused connection with RST.
 * Cause     The upstream's keep-alive timeout (Node: 5 s) is shorter than Envoy's upstream idle
 *           timeout (1 h). The upstream gives up on an idle connection; Envoy, not knowing, sends
 *           the next request on it and gets a reset with the request already written.
 * Fixes     Envoy retires idle connections first (cluster idle_timeout below the upstream's
 *           keep-alive); retry on `reset`; raise the upstream's keep-alive above the idle gaps.
 * Controls  `reset-before-request` and Istio's default retry_on do not help.
 *
 * Determinism: the upstream is an instrument that answers a request arriving on a connection idle
 * ≥ 1 s with an RST (seed 003's packet trace), so the race is lost every time instead of by
 * chance; the `natural` phase measures how often a plain Node server loses it on its own.
 * Time scaling: Node's 5 s keep-alive → 1 s; the app pauses 1.3 s between requests.
 */
import { check, counterAtLeast, faultFired, stat, type Check } from '../src/checks/check.js';
import { describeAccess, isOk, outcomeCounts } from '../src/checks/evidence.js';
import type { Lab } from '../src/lab.js';
import { defineScenario } from '../src/scenario/scenario.js';

const CLUSTER = 'outbound|8080||app.test';
const UPSTREAM_KEEPALIVE_MS = 1000;
const IDLE_GAP_MS = 1300;
const REQUESTS = 6;
const ENVOY_503_BODY = 'upstream connect error or disconnect/reset before headers. reset reason: connection termination';

/** The app calls app.test serially, pausing longer than the upstream's keep-alive between calls. */
function callsWithIdleGaps(o: { requests?: number; gapMs?: number; jitterMs?: number } = {}) {
  const requests = o.requests ?? REQUESTS;
  const gap = o.gapMs ?? IDLE_GAP_MS;
  return async (lab: Lab) => {
    await lab.startApp({
      url: 'http://app.test:8080/',
      everyMs: 0,
      gapAfterMs: gap,
      jitterMs: o.jitterMs,
      maxRequests: requests,
      maxDurationMs: requests * (gap + 3000),
      requestTimeoutMs: 3000,
      connectTimeoutMs: 1000,
      keepAliveTimeoutMs: 30_000,
    });
    await lab.waitFor(`${requests} requests`, (t) => t.requests().length >= requests, requests * (gap + 3000));
  };
}

/** Still broken: 503 UC on reused connections, the upstream reset them, Envoy did not retry. */
const stillFails: Check[] = [
  check('symptom: the app gets 503 with Envoy\'s "connection termination" body', (e) => {
    const failed = e.timeline.requests().filter((r) => r.status === 503);
    return {
      pass: failed.length >= 2 && failed.every((r) => r.body === ENVOY_503_BODY),
      evidence: `${outcomeCounts(e.timeline.requests())}; 503 body: "${failed[0]?.body ?? '-'}"`,
    };
  }),
  check('mechanism: 503 UC connection_termination, one attempt, on an upstream connection that had served a request', (e) => {
    const http = e.accessLog.filter((a) => a.kind === 'http');
    const uc = http.filter((a) => a.code === 503);
    const reused = uc.filter((a) => http.some((b) => b.code === 200 && b.up_cx === a.up_cx && Date.parse(b.ts) < Date.parse(a.ts)));
    const pass = uc.length >= 2 && uc.every((a) => a.flags === 'UC' && /connection_termination/.test(a.details ?? '') && a.attempts === 1) && reused.length === uc.length;
    return { pass, evidence: `${describeAccess(uc)}; ${reused.length}/${uc.length} on a reused upstream connection (up_cx ${uc.map((a) => a.up_cx).join(', ')})` };
  }),
  counterAtLeast(`cluster.${CLUSTER}.upstream_cx_destroy_remote_with_active_rq`, 2, 'mechanism: the upstream closed connections with a request on them'),
  check('no retry was attempted', (e) => ({ pass: stat(e, `cluster.${CLUSTER}.upstream_rq_retry`) === 0, evidence: `cluster.${CLUSTER}.upstream_rq_retry +${stat(e, `cluster.${CLUSTER}.upstream_rq_retry`)}` })),
  faultFired('app', 'reset-idle-reuse'),
];

const allOk = check('symptom gone: every request got 200', (e) => {
  const rs = e.timeline.requests();
  return { pass: rs.length >= REQUESTS && rs.every(isOk), evidence: outcomeCounts(rs) };
});

const upstreamNeverReset = check('the upstream never had to reset a connection', (e) => {
  const rec = e.faults.find((f) => f.fault === 'reset-idle-reuse');
  return { pass: !!rec && rec.fired === 0, evidence: rec?.detail ?? 'the fault was not armed' };
});

/** The route Envoy ran carries this retry_on: the control really was configured. */
const routeHasRetryOn = (retryOn: string) =>
  check(`the control was in force: Envoy's route has retry_on "${retryOn}"`, (e) => ({
    pass: e.configDump.includes(`"retry_on": "${retryOn}"`),
    evidence: e.configDump.includes(`"retry_on": "${retryOn}"`) ? 'found in /config_dump (dynamic route "8080")' : 'not in /config_dump',
  }));

export default defineScenario({
  id: 'keepalive-race',
  title: 'Sporadic 503 UC: the upstream resets an idle kept-alive connection as Envoy reuses it',
  seed: '003_06cfa856d656aa2a.txt',
  reported: ['https://github.com/envoyproxy/envoy/issues/47468', 'https://github.com/istio/istio/issues/55138'],
  symptom: '503 UC "upstream connect error or disconnect/reset before headers. reset reason: connection termination" after idle periods',
  cause: "the upstream's keep-alive timeout (Node 5 s) is shorter than Envoy's upstream idle timeout (1 h): Envoy reuses a connection the upstream has given up on",
  timeScaling: "upstream keep-alive 5 s → 1 s; the app's idle gaps 1.3 s; Envoy's fixed idle timeout 0.5 s",
  lab: {
    upstreams: [{ name: 'app', octet: 30, ports: [8080], http: { resetIdleReuseAfterMs: UPSTREAM_KEEPALIVE_MS } }],
    dns: { 'app.test': 'app' },
  },
  phases: [
    {
      name: 'before',
      kind: 'before',
      title: "Envoy's 1 h upstream idle timeout vs a 1 s upstream keep-alive: 503 UC on reuse",
      config: 'broken',
      run: callsWithIdleGaps(),
      expect: stillFails,
    },
    {
      name: 'fix-idle-timeout',
      kind: 'fix',
      title: 'DestinationRule http.idleTimeout 0.5 s: Envoy retires idle connections first',
      config: 'fix-idle-timeout',
      run: callsWithIdleGaps(),
      expect: [
        allOk,
        counterAtLeast(`cluster.${CLUSTER}.upstream_cx_idle_timeout`, REQUESTS - 1, 'fix path: Envoy closed the idle connections itself'),
        check('fix path: every request went out on a fresh upstream connection', (e) => {
          const http = e.accessLog.filter((a) => a.kind === 'http');
          const cxs = new Set(http.map((a) => a.up_cx));
          return { pass: http.length >= REQUESTS && cxs.size === http.length, evidence: `${http.length} requests on ${cxs.size} upstream connection(s)` };
        }),
        upstreamNeverReset,
      ],
    },
    {
      name: 'fix-retry-reset',
      kind: 'fix',
      title: 'VirtualService retries retryOn: reset: the race still happens, the retry hides it',
      config: 'fix-retry-reset',
      run: callsWithIdleGaps(),
      expect: [
        allOk,
        check('fix path: the reset requests were retried (attempts 2) and succeeded', (e) => {
          const retried = e.accessLog.filter((a) => a.kind === 'http' && a.attempts === 2);
          return { pass: retried.length >= 2 && retried.every((a) => a.code === 200), evidence: `${retried.length} access-log entries with attempts=2: ${describeAccess(retried)}` };
        }),
        counterAtLeast(`cluster.${CLUSTER}.upstream_rq_retry_success`, 2, 'fix path'),
        faultFired('app', 'reset-idle-reuse'),
      ],
    },
    {
      name: 'fix-longer-keepalive',
      kind: 'fix',
      title: "The upstream's keep-alive raised above the idle gaps (5 s): connections are reused safely",
      config: 'broken',
      upstreams: { app: { http: { resetIdleReuseAfterMs: 5000 } } },
      run: callsWithIdleGaps(),
      expect: [
        allOk,
        check('fix path: one upstream connection carried every request', (e) => {
          const cxs = new Set(e.accessLog.filter((a) => a.kind === 'http').map((a) => a.up_cx));
          return { pass: cxs.size === 1, evidence: `upstream connection id(s): ${[...cxs].join(', ')}` };
        }),
        upstreamNeverReset,
      ],
    },
    {
      name: 'control-reset-before-request',
      kind: 'control',
      title: 'Not a fix: retryOn reset-before-request (the request was already sent)',
      config: 'control-reset-before-request',
      run: callsWithIdleGaps(),
      expect: [...stillFails, routeHasRetryOn('reset-before-request')],
    },
    {
      name: 'control-istio-default-retry',
      kind: 'control',
      title: "Not a fix: Istio's default retry_on (connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes)",
      config: 'control-istio-default-retry',
      run: callsWithIdleGaps(),
      expect: [...stillFails, routeHasRetryOn('connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes')],
    },
    {
      // Node 20 closes an idle connection keepAliveTimeout + 1 s after the last response (its own
      // guard against this race; measured in the lab), so with keepAliveTimeout 0.5 s the FIN
      // comes at 1.5 s: the app's gaps straddle that moment.
      name: 'natural',
      kind: 'measure',
      title: 'A plain Node server (keepAliveTimeout 0.5 s, FIN at 1.5 s), idle gaps 1.5 s ± 20 ms: how often is the race lost?',
      config: 'broken',
      upstreams: { app: { http: { resetIdleReuseAfterMs: undefined, keepAliveTimeoutMs: 500 } } },
      run: callsWithIdleGaps({ requests: 12, gapMs: 1500, jitterMs: 20 }),
      expect: [
        check('measured: the rate of 503 UC with gaps straddling the keep-alive', (e) => {
          const rs = e.timeline.requests();
          const failed = rs.filter((r) => !isOk(r));
          const uc = e.accessLog.filter((a) => a.kind === 'http' && a.code === 503 && a.flags === 'UC');
          return {
            pass: rs.length >= 12 && failed.length === uc.length,
            evidence: `${failed.length}/${rs.length} requests lost the race (${((100 * failed.length) / Math.max(1, rs.length)).toFixed(0)}%), all 503 UC: ${failed.length === uc.length ? 'yes' : `no (${outcomeCounts(failed)})`}`,
          };
        }),
        counterAtLeast(`cluster.${CLUSTER}.upstream_cx_destroy_remote`, 1, 'the race was real: the upstream closed idle connections between requests'),
      ],
    },
  ],
});
