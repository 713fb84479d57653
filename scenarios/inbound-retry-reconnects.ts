/**
 * inbound-retry-reconnects: after an Istio upgrade to 1.24, a pod whose app stops accepting
 * connections gets three connection attempts for every call, and its callers wait three connect
 * timeouts for the 503 that would let them try another pod.
 *
 * Reported  istio/istio#61084 and istio/api PR #3751 (2026-08: "the inbound retry enlarged the
 *           re-connecting … we hope the outbound retry could select another server pod rather
 *           than retrying in the broken pod"; "if the server pod is under high pressure and
 *           cannot process more connections, the inbound retrying makes things worse"); the
 *           default came with istio/istio PR #52055 for istio#51704 (1.24, gated by
 *           ENABLE_INBOUND_RETRY_POLICY under compatibilityVersion 1.23).
 * Symptom   A pod whose app cannot take more connections (its accept queue full) gets three SYNs
 *           per call instead of one, and each caller waits three connect timeouts for its 503.
 * Cause     Since 1.24 istiod puts a retry policy on every inbound HTTP route (not gRPC):
 *           retry_on reset-before-request, 2 retries. A connect timeout to the app is a reset
 *           before the request was sent, so the sidecar tries the same app twice more.
 * Fixes     The pre-1.24 inbound route (no retry), written by hand: the flag is gone from both
 *           Istio builds here, so under --istio that phase is not applicable. An EnvoyFilter that
 *           puts a route of its own, without retries, first on the inbound virtual host: one
 *           attempt per call. Control: the EnvoyFilter one writes first, MERGE num_retries 0,
 *           changes nothing (a proto3 merge skips a zero; measured).
 * Settled   Both Istio builds render the inbound retry; Envoy 1.40 retries a connect timeout under
 *           reset-before-request (URX,UF, 3 attempts).
 *
 * Time scaling: Istio's connect timeout (10 s) → 0.5 s. The app's port drops SYNs, as a full
 * accept queue does: each attempt waits the whole connect timeout.
 */
import { acceptQueueFull, check, type Check, counterGrew, defineScenario, describeAccess, everyAccessEntry, type Lab, podServingCallers, routeHas } from '../src/index.js';

const APP_PORT = 8080;
const CALLS = 3;
const CONNECT_TIMEOUT_MS = 500;
const INBOUND = 'inbound|8080||';
const ROUTE = { route: INBOUND, domain: '*', field: 'retry_policy' };

/** The app's port takes no more connections; a caller outside the pod then calls it, one call at a time. */
async function callsToAFullApp(lab: Lab) {
  await lab.hosts.inject(acceptQueueFull(APP_PORT), 'pod');
  for (let i = 1; i <= CALLS; i++) await lab.caller('client').send({ url: `http://${lab.ip('pod')}:${APP_PORT}/orders`, headers: [], label: `GET /orders #${i}` });
}

/** The kernel dropped exactly `perCall` SYNs to the app's port for each call: one per connection attempt. */
const synsPerCall = (label: string, perCall: number): Check =>
  check(label, (e) => {
    const rec = e.faults.find((f) => f.host === 'pod' && f.fault === 'accept-queue-full');
    if (!rec) return { pass: false, evidence: 'no accept-queue-full fault was injected on pod' };
    return { pass: rec.fired === perCall * CALLS, evidence: `${rec.detail}, for ${CALLS} calls (${perCall} per call expected)` };
  });

/**
 * Every caller got the sidecar's 503 after `timeouts` connect timeouts or more. The caller's clock
 * and Envoy's timers round differently (measured: 499 ms for one 500 ms timeout): 10% slack.
 */
const every503After = (label: string, timeouts: number): Check =>
  check(label, (e) => {
    const rs = e.timeline.requests();
    const ok = rs.length >= CALLS && rs.every((r) => r.status === 503 && r.servedBy === undefined && r.latencyMs >= 0.9 * timeouts * CONNECT_TIMEOUT_MS);
    return { pass: ok, evidence: `${rs.length} call(s): ${rs.map((r) => `${r.status ?? r.error} after ${r.latencyMs} ms`).join(', ') || 'none'}` };
  });

const attemptsPerCall = (label: string, attempts: number, flags: (f: string) => boolean) =>
  everyAccessEntry(label, { kind: 'http', min: CALLS }, (a) => a.code === 503 && a.up_cluster === INBOUND && a.attempts === attempts && flags(a.flags ?? ''));

const connectTimeouts = (label: string, n: number): Check =>
  check(label, (e) => {
    const name = `cluster.${INBOUND}.upstream_cx_connect_timeout`;
    const got = e.counter(name);
    return { pass: got === n, evidence: `${name} +${got} (${n} expected); ${describeAccess(e.accessLog.filter((a) => a.kind === 'http'))}` };
  });

const inboundRetries = (label: string, yes: boolean) => routeHas(label, ROUTE, (p) => (p?.retry_on === 'reset-before-request' && Number(p?.num_retries) === 2) === yes);

/** The before's evidence, shared by the control whose EnvoyFilter changes nothing. */
const threeAttempts = (what: string): Check[] => [
  synsPerCall(`trigger: the app's port dropped every SYN, 3 per call (${what})`, 3),
  every503After(`symptom: every caller got 503 from the sidecar after 3 connect timeouts (${3 * CONNECT_TIMEOUT_MS} ms)`, 3),
  attemptsPerCall('mechanism: 3 attempts on the inbound cluster per call, retry limit reached (URX,UF)', 3, (f) => f.includes('URX') && f.includes('UF')),
  connectTimeouts('mechanism: the inbound cluster timed out 3 connects per call', 3 * CALLS),
  counterGrew('mechanism: the sidecar retried on the inbound route', `cluster.${INBOUND}.upstream_rq_retry`, 2 * CALLS),
  inboundRetries("mechanism: the inbound route's retry policy is reset-before-request, 2 retries", true),
];

const oneAttempt = (what: string): Check[] => [
  synsPerCall(`symptom gone: one SYN per call reached the app's port (${what})`, 1),
  attemptsPerCall('symptom gone: one attempt per call, then the 503 (UF, no URX): the caller can try another pod after one connect timeout', 1, (f) => f.includes('UF') && !f.includes('URX')),
  connectTimeouts('fix path: the inbound cluster timed out one connect per call', CALLS),
  every503After(`…the caller's 503 still comes: the app takes no connections (one connect timeout, ${CONNECT_TIMEOUT_MS} ms)`, 1),
];

export default defineScenario({
  id: 'inbound-retry-reconnects',
  title: "Istio 1.24's inbound retry: a pod that takes no more connections gets three attempts per call, and its callers wait three connect timeouts",
  reported: ['https://github.com/istio/istio/issues/61084', 'https://github.com/istio/api/pull/3751', 'https://github.com/istio/istio/pull/52055'],
  symptom: 'after an Istio upgrade, a pod whose app cannot take more connections gets three times the connection attempts, and its callers wait three connect timeouts for each 503',
  cause: "since 1.24 the inbound route retries reset-before-request twice: a connect timeout to the app counts, so the sidecar tries the same app three times",
  timeScaling: "Istio's connect timeout 10 s → 0.5 s",
  behaviourChange: 'ENABLE_INBOUND_RETRY_POLICY',
  responseFlags: { URX: { where: 'before: 503 URX,UF after 3 connect timeouts on the inbound cluster, one call' } },
  world: podServingCallers({ port: APP_PORT }),
  phases: [
    {
      name: 'before-inbound-retry',
      title: "Istio ≥ 1.24's inbound route (reset-before-request, 2 retries): 3 SYNs to the full app per call, each caller waits 3 connect timeouts",
      config: 'before-inbound-retry',
      signature: {
        says: "the pod's sidecar tried its app 3 times and could not connect: Istio ≥ 1.24's inbound retry (reset-before-request) on an app that accepts no connections",
        entries: { code: 503, flags: 'URX,UF', details: /connection_timeout/, cluster: /^inbound\|/ },
      },
      run: callsToAFullApp,
      expect: threeAttempts('Istio ≥ 1.24'),
    },
    {
      name: 'fix-old-behaviour',
      title: 'The pre-1.24 inbound route (no retry, written by hand: no Istio build here renders it): one SYN per call, the 503 after one connect timeout',
      config: 'fix-old-behaviour',
      istioObjects: 'before-inbound-retry',
      oldIstioBehaviour: true,
      run: callsToAFullApp,
      expect: [...oneAttempt('pre-1.24'), inboundRetries("fix path: the inbound route has no retry policy", false)],
    },
    {
      name: 'control-merge-zero',
      kind: 'control',
      title: 'An EnvoyFilter that MERGEs num_retries 0 into the inbound route: istiod keeps 2 (a proto3 merge skips a zero), nothing changes',
      config: 'control-merge-zero',
      run: callsToAFullApp,
      expect: threeAttempts('the EnvoyFilter merged nothing'),
    },
    {
      name: 'fix-envoyfilter',
      title: 'An EnvoyFilter puts a route without retries first on the inbound virtual host: one SYN per call',
      config: 'fix-envoyfilter',
      run: callsToAFullApp,
      expect: [...oneAttempt('the EnvoyFilter'), inboundRetries("fix path: the inbound virtual host's first route has no retry policy", false)],
    },
  ],
});
