/**
 * retry-503-dropped: after an Istio upgrade to 1.24, callers see the 503s a busy pod answers,
 * which the sidecar used to retry on another pod.
 *
 * Reported  istio/istio PR #52111 ("exclude unsafe 503 from default RetryPolicy", for #50506: a
 *           POST answered 503 after its work was retried, a double payout); istio/api PR #3416;
 *           Istio's default retry policy since PR #10566 (2019) listed 503.
 * Symptom   A pod that sheds load answers 503. Before the upgrade callers never saw it: their
 *           sidecar retried on another pod. After it, the calls that land on that pod fail.
 * Cause     Since 1.24 Istio's default retry policy (no VirtualService retries) keeps
 *           "retriable-status-codes" in retry_on but lists no status code: a 503 from the
 *           upstream is final. The flag that kept 503 (EXCLUDE_UNSAFE_503_FROM_DEFAULT_RETRY,
 *           compatibilityVersion 1.23) is gone from both Istio builds here: the change is
 *           permanent in them.
 * Fixes     Retry 503 where a call is safe to repeat: VirtualService retries with retryOn
 *           "…,503" (istiod renders the pre-1.24 policy exactly). The old behaviour itself is
 *           shown with the pre-1.24 policy written by hand; under --istio that phase is not
 *           applicable (no flag brings it back).
 * Settled   Both Istio builds render the default without 503 and, from the VirtualService,
 *           retriable_status_codes [503]; Envoy 1.40 retries those on the other pod.
 *
 * The pods: svc-1 answers 503 to everything (load shedding), svc-2 serves. The app makes 20 calls,
 * 50 ms apart; the load balancer picks svc-1 for some of them (1 call in 2, at random).
 */
import { check, clusterStat, counterGrew, counterStayedZero, defineScenario, everyAccessEntry, everyRequest, type Lab, routeHas, serviceRequest, upstreamCounted } from '../src/index.js';

const CALLS = 20;
const ROUTE = { route: '8080', domain: 'app.test', field: 'retry_policy' };

const twentyCalls = async (lab: Lab) => {
  for (let i = 1; i <= CALLS; i++) {
    await lab.app.send(serviceRequest('/', { label: `GET / #${i}` }));
    await lab.sleep(50);
  }
  await lab.hosts.upstreamCounts('svc-1');
};

const shed = upstreamCounted('trigger: svc-1, which answers 503 to everything (load shedding), got calls', 'svc-1', (c) => (c.requests['GET /'] ?? 0) >= 1);
const retries503 = (label: string, yes: boolean) => routeHas(label, ROUTE, (p) => (p?.retriable_status_codes ?? []).map(Number).includes(503) === yes);

export default defineScenario({
  id: 'retry-503-dropped',
  title: "Istio 1.24 stops retrying 503 by default: a load-shedding pod's 503s reach the callers",
  reported: ['https://github.com/istio/istio/pull/52111', 'https://github.com/istio/istio/issues/50506', 'https://github.com/istio/api/pull/3416'],
  symptom: 'after an Istio upgrade the calls that land on a pod answering 503 fail, where the sidecar used to retry them on another pod',
  cause: "since 1.24 Istio's default retry policy lists no retriable status code: a 503 from the upstream is not retried",
  timeScaling: 'none needed: 20 calls, 50 ms apart',
  behaviourChange: 'EXCLUDE_UNSAFE_503_FROM_DEFAULT_RETRY',
  world: {
    upstreams: [
      { name: 'svc-1', octet: 31, ports: [8080], http: { responses: Array(4 * CALLS).fill(503) } },
      { name: 'svc-2', octet: 32, ports: [8080] },
    ],
    dns: { 'app.test': 'svc-1' },
  },
  phases: [
    {
      name: 'before-503-not-retried',
      title: "Istio ≥ 1.24's default retry policy: every call the balancer sends to svc-1 gets its 503, none retried",
      config: 'before-503-not-retried',
      signature: { none: "a 503 passed through from the upstream, one attempt: the access log holds nothing the pod's own 503 would not" },
      run: twentyCalls,
      expect: [
        check('symptom: some calls got 503, each from svc-1, the rest 200 from svc-2', (e) => {
          const rs = e.timeline.requests();
          const failed = rs.filter((r) => r.status === 503);
          const ok = failed.length >= 1 && failed.every((r) => r.servedBy === 'svc-1') && rs.filter((r) => r.status !== 503).every((r) => r.status === 200 && r.servedBy === 'svc-2');
          return { pass: ok && rs.length >= CALLS, evidence: `${rs.length} calls: ${failed.length}× 503 (from ${[...new Set(failed.map((r) => r.servedBy))].join(', ') || 'none'}), ${rs.length - failed.length} others` };
        }),
        everyAccessEntry('mechanism: Envoy passed each 503 through after one attempt (via_upstream, no retry)', { kind: 'http', where: (a) => a.code === 503, min: 1 }, (a) => a.attempts === 1 && a.details === 'via_upstream'),
        retries503('mechanism: the route\'s retry policy lists no 503', false),
        counterStayedZero('mechanism: the sidecar retried nothing', clusterStat('upstream_rq_retry')),
        shed,
      ],
    },
    {
      name: 'fix-old-behaviour',
      title: 'The pre-1.24 default (503 retriable, written by hand: no Istio build here renders it): every call 200, the 503s retried on svc-2',
      config: 'fix-old-behaviour',
      istioObjects: 'before-503-not-retried',
      oldIstioBehaviour: true,
      run: twentyCalls,
      expect: [
        everyRequest(`symptom gone: all ${CALLS} calls got 200 from svc-2`, { min: CALLS }, (r) => r.status === 200 && r.servedBy === 'svc-2'),
        counterGrew('fix path: the sidecar retried the 503s on the other pod', clusterStat('upstream_rq_retry'), 1),
        retries503('fix path: the route\'s retry policy lists 503', true),
        shed,
      ],
    },
    {
      name: 'fix-retry-on-503',
      title: 'VirtualService retries, retryOn "…,503": istiod renders the old policy for this service, every call 200',
      config: 'fix-retry-on-503',
      run: twentyCalls,
      expect: [
        everyRequest(`symptom gone: all ${CALLS} calls got 200 from svc-2`, { min: CALLS }, (r) => r.status === 200 && r.servedBy === 'svc-2'),
        counterGrew('fix path: the sidecar retried the 503s on the other pod', clusterStat('upstream_rq_retry'), 1),
        retries503('fix path: the route\'s retry policy, from the VirtualService, lists 503', true),
        shed,
      ],
    },
  ],
});
