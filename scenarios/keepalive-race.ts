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
 * Determinism: the fault `resetIdleReuse` makes the upstream answer a request arriving on a
 * connection idle ≥ 1 s with an RST (seed 003's packet trace), so the race is lost every time
 * instead of by chance; the `natural` phase sweeps the idle gap across a plain Node server's own
 * close time and measures how often the race is lost at each gap (the danger window).
 * Time scaling: Node's 5 s keep-alive → 1 s; the app pauses 1.3 s between requests.
 */
import {
  accessAfter,
  check,
  configHas,
  counterGrew,
  counterStayedZero,
  defineScenario,
  describeAccess,
  everyAccessEntry,
  everyRequest,
  everyRequestOk,
  faultFired,
  faultNeverFired,
  isOk,
  outcomeCounts,
  requestsAfter,
  resetIdleReuse,
  type Check,
  type Lab,
  type RequestEntry,
} from '../src/index.js';

const CLUSTER = 'outbound|8080||app.test';
const UPSTREAM_KEEPALIVE_MS = 1000;
const IDLE_GAP_MS = 1300;
const REQUESTS = 6;
const ENVOY_503_BODY = 'upstream connect error or disconnect/reset before headers. reset reason: connection termination';

/**
 * The app calls app.test serially, pausing longer than the upstream's keep-alive between calls.
 * The upstream resets a reused connection idle ≥ `upstreamKeepAliveMs` (the fault).
 */
function callsWithIdleGaps(upstreamKeepAliveMs = UPSTREAM_KEEPALIVE_MS) {
  return async (lab: Lab) => {
    await lab.inject(resetIdleReuse(upstreamKeepAliveMs), 'app');
    await lab.startApp({
      url: 'http://app.test:8080/',
      everyMs: 0,
      gapAfterMs: IDLE_GAP_MS,
      maxRequests: REQUESTS,
      maxDurationMs: REQUESTS * (IDLE_GAP_MS + 3000),
      requestTimeoutMs: 3000,
      connectTimeoutMs: 1000,
      keepAliveTimeoutMs: 30_000,
    });
    await lab.waitFor(`${REQUESTS} requests`, (t) => t.requests().length >= REQUESTS, REQUESTS * (IDLE_GAP_MS + 3000));
  };
}

/** Still broken: 503 UC on reused connections, the upstream reset them, Envoy did not retry. */
const stillFails: Check[] = [
  everyRequest('symptom: the app gets 503 with Envoy\'s "connection termination" body', { where: (r) => !isOk(r), min: 2 }, (r) => r.status === 503 && r.body === ENVOY_503_BODY),
  check('mechanism: 503 UC connection_termination, one attempt, on an upstream connection that had served a request', (e) => {
    const http = e.accessLog.filter((a) => a.kind === 'http');
    const uc = http.filter((a) => a.code === 503);
    const reused = uc.filter((a) => http.some((b) => b.code === 200 && b.up_cx === a.up_cx && Date.parse(b.ts) < Date.parse(a.ts)));
    const pass = uc.length >= 2 && uc.every((a) => a.flags === 'UC' && /connection_termination/.test(a.details ?? '') && a.attempts === 1) && reused.length === uc.length;
    return { pass, evidence: `${describeAccess(uc)}; ${reused.length}/${uc.length} on a reused upstream connection (up_cx ${uc.map((a) => a.up_cx).join(', ')})` };
  }),
  counterGrew(`cluster.${CLUSTER}.upstream_cx_destroy_remote_with_active_rq`, 2, 'mechanism: the upstream closed connections with a request on them'),
  counterStayedZero(`cluster.${CLUSTER}.upstream_rq_retry`, 'no retry was attempted'),
  faultFired('app', 'reset-idle-reuse'),
];

const allOk = everyRequestOk(REQUESTS);

const upstreamNeverReset = faultNeverFired('app', 'reset-idle-reuse', 'the upstream never had to reset a connection (the fault was armed)');

/** The route Envoy ran carries this retry_on: the control really was configured. */
// The natural race, sampled: an upstream that closes an idle kept-alive connection exactly
// 100 ms after its last response (a server without Node's 1 s grace), and idle gaps swept across
// that moment. First the real close time is measured (calibration: gaps past it, the upstream
// reports each idle close), then the gaps step through [close − 6 ms, close + 1 ms] in 1 ms
// steps, 25 rounds: 200 samples in ~25 s. The window is ~1 ms wide, so few samples can miss it.
const IDLE_CLOSE_MS = 100;
const CALIBRATION_GAP_MS = 150;
const SWEEP = { belowMs: 6, aboveMs: 1, rounds: 25 };

async function runClientWithGaps(lab: Lab, gapsMs: number[]) {
  const n = gapsMs.length + 1;
  const maxMs = gapsMs.reduce((a, b) => a + b, 0) + n * 3000;
  await lab.startApp({ url: 'http://app.test:8080/', everyMs: 0, gapsMs, maxRequests: n, maxDurationMs: maxMs, requestTimeoutMs: 3000, connectTimeoutMs: 1000, keepAliveTimeoutMs: 30_000 });
  const before = lab.timeline.requests().length;
  await lab.waitFor(`${n} requests`, (t) => t.requests().length >= before + n, maxMs);
  await lab.stopApp();
}

async function sweepIdleGaps(lab: Lab) {
  await runClientWithGaps(lab, Array.from({ length: 5 }, () => CALIBRATION_GAP_MS));
  const closes = lab.timeline.events('idle close').map((x) => Number(x.detail)).sort((a, b) => a - b);
  const closeMs = closes[Math.floor(closes.length / 2)] ?? IDLE_CLOSE_MS;
  lab.note('upstream idle close (ms)', String(closeMs));
  lab.timeline.mark('note', `sweep: idle gaps ${closeMs - SWEEP.belowMs}–${closeMs + SWEEP.aboveMs} ms × ${SWEEP.rounds}`);
  const oneRound = Array.from({ length: SWEEP.belowMs + SWEEP.aboveMs + 1 }, (_, i) => closeMs - SWEEP.belowMs + i);
  await runClientWithGaps(lab, Array.from({ length: SWEEP.rounds }, () => oneRound).flat());
}

/** "1094 ms: 0/4, 1095 ms: 1/4, …": the danger window, gap by gap. */
function perGap(rs: RequestEntry[]): string {
  const byGap = new Map<number, { n: number; lost: number }>();
  for (const r of rs) {
    const x = byGap.get(r.idleGapMs!) ?? { n: 0, lost: 0 };
    x.n++;
    if (!isOk(r)) x.lost++;
    byGap.set(r.idleGapMs!, x);
  }
  return [...byGap].sort(([a], [b]) => a - b).map(([g, x]) => `${g} ms: ${x.lost}/${x.n}`).join(', ');
}

const routeHasRetryOn = (retryOn: string) => configHas(`the control was in force: Envoy's route has retry_on "${retryOn}"`, `"retry_on": "${retryOn}"`, 'dynamic route "8080"');

export default defineScenario({
  id: 'keepalive-race',
  title: 'Sporadic 503 UC: the upstream resets an idle kept-alive connection as Envoy reuses it',
  seed: '003_06cfa856d656aa2a.txt',
  reported: ['https://github.com/envoyproxy/envoy/issues/47468', 'https://github.com/istio/istio/issues/55138'],
  symptom: '503 UC "upstream connect error or disconnect/reset before headers. reset reason: connection termination" after idle periods',
  cause: "the upstream's keep-alive timeout (Node 5 s) is shorter than Envoy's upstream idle timeout (1 h): Envoy reuses a connection the upstream has given up on",
  timeScaling: "upstream keep-alive 5 s → 1 s; the app's idle gaps 1.3 s; Envoy's fixed idle timeout 0.5 s",
  lab: {
    upstreams: [{ name: 'app', octet: 30, ports: [8080] }],
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
        counterGrew(`cluster.${CLUSTER}.upstream_cx_idle_timeout`, REQUESTS - 1, 'fix path: Envoy closed the idle connections itself'),
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
        everyAccessEntry('fix path: the reset requests were retried (attempts 2) and succeeded', { kind: 'http', where: (a) => a.attempts === 2, min: 2 }, (a) => a.code === 200),
        counterGrew(`cluster.${CLUSTER}.upstream_rq_retry_success`, 2, 'fix path'),
        faultFired('app', 'reset-idle-reuse'),
      ],
    },
    {
      name: 'fix-longer-keepalive',
      kind: 'fix',
      title: "The upstream's keep-alive raised above the idle gaps (5 s): connections are reused safely",
      config: 'broken',
      run: callsWithIdleGaps(5000),
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
      // What real Node does (measured in the lab): Node 20 closes an idle kept-alive connection
      // keepAliveTimeout + 1 s after the last response, its own guard against this race; so the
      // upstream here closes with its own timer instead, at exactly 100 ms, and reports when.
      // Measured (1.40, netns, 3 runs of 200): 16–22 losses, all within 1–5 ms before the close,
      // up to half the samples at 2–3 ms before it; none at or after the close, none earlier.
      name: 'natural',
      kind: 'measure',
      title: 'An upstream that closes idle connections after 100 ms: idle gaps swept in 1 ms steps across its measured close; the rate of 503 UC per gap',
      config: 'broken',
      upstreams: { app: { http: { idleCloseMs: IDLE_CLOSE_MS } } },
      run: sweepIdleGaps,
      expect: [
        check("the sweep straddled the upstream's own close time (measured by the upstream)", (e) => {
          const close = e.noteNumber('upstream idle close (ms)');
          const gaps = requestsAfter(e, 'note').map((r) => r.idleGapMs).filter((g): g is number => g !== undefined);
          return {
            pass: gaps.length >= SWEEP.rounds * (SWEEP.belowMs + SWEEP.aboveMs) && Math.min(...gaps) < close && Math.max(...gaps) > close,
            evidence: `calibration: the upstream closed idle connections after ${close} ms (median); the sweep's gaps ran ${Math.min(...gaps)}–${Math.max(...gaps)} ms (${gaps.length} gaps)`,
          };
        }),
        check('measured: the race was lost at some gap, and every loss was a 503 UC connection_termination', (e) => {
          const rs = requestsAfter(e, 'note').filter((r) => r.idleGapMs !== undefined);
          const lost = rs.filter((r) => !isOk(r));
          const uc = accessAfter(e, 'note', 'http').filter((a) => a.code === 503);
          return {
            pass: lost.length >= 1 && lost.every((r) => r.status === 503) && uc.length === lost.length && uc.every((a) => a.flags === 'UC' && /connection_termination/.test(a.details ?? '')),
            evidence: `${lost.length}/${rs.length} requests lost the race; per idle gap: ${perGap(rs)}; access log: ${describeAccess(uc)}`,
          };
        }),
        counterGrew(`cluster.${CLUSTER}.upstream_cx_destroy_remote`, 1, 'the race was real: the upstream closed idle connections between requests'),
      ],
    },
  ],
});
