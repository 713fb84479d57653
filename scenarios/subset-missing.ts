/**
 * subset-missing: every call to a service answered 503 by the sidecar after a canary rollout.
 *
 * Reported  istio#6335, bookinfo #7627 (503 NC for a subset no DestinationRule defines);
 *           istio#54023 (503 UH no_healthy_upstream: the subset's labels match no pod), #31925,
 *           #20367; catalogue §18 (../shared/research/incident-catalogue.md).
 * Symptom   After a VirtualService sends traffic to subset v2, every call fails with 503, and
 *           stays failing; the v2 pod is Running and answers when called directly.
 * Cause     The route names the subset's cluster (outbound|8080|v2|app.test). With no
 *           DestinationRule subset v2 the cluster does not exist: 503 NC cluster_not_found (not
 *           the moment between two pushes of xds-order-503nc: for as long as the objects stay
 *           so). With a subset whose labels match no pod the cluster has no endpoints: 503 UH.
 * Fixes     The DestinationRule subset first (make-before-break), with labels the pods carry.
 * Settled   What istiod renders for a subset it does not know (both Istios built here): the
 *           route to the missing cluster anyway; for a selector matching no pod, the cluster
 *           with no endpoints.
 *
 * The pods: svc-1 labelled version=v1, svc-2 version=v2 (their ServiceEntry endpoints carry the
 * labels under --istio). The app calls the service 10 times, 100 ms apart.
 */
import { configShapes, counterGrew, counterShapes, defineScenario, everyAccessEntry, everyRequest, isOk, type Lab, routeHas, serviceRequest, signatureFacts } from '../src/index.js';

const CALLS = 10;
const V2 = 'outbound|8080|v2|app.test';
const ROUTE = { route: '8080', domain: 'app.test', field: 'cluster' };

const tenCalls = async (lab: Lab) => {
  for (let i = 1; i <= CALLS; i++) {
    await lab.app.send(serviceRequest('/', { label: `GET / #${i}` }));
    await lab.sleep(100);
  }
};

const routedToV2 = routeHas(`trigger: the route in force sends every call to subset v2 (${V2})`, ROUTE, (c) => c === V2);
const v2PodAnswers = (how: string) => everyRequest(`${how}`, { min: CALLS }, (r) => isOk(r) && r.servedBy === 'svc-2');

export default defineScenario({
  id: 'subset-missing',
  title: 'A VirtualService subset no DestinationRule defines (503 NC), or whose labels match no pod (503 UH)',
  reported: ['https://github.com/istio/istio/issues/6335', 'https://github.com/istio/istio/issues/54023', 'https://github.com/istio/istio/issues/31925'],
  symptom: 'every call to the service fails with 503 NC cluster_not_found (or 503 UH no_healthy_upstream) after a canary route, and stays failing',
  cause: 'the route names the subset cluster outbound|8080|v2|app.test: not defined by any DestinationRule (NC), or defined with labels no pod carries (UH)',
  timeScaling: 'none needed: 10 calls, 100 ms apart',
  responseFlags: {
    NC: { where: 'before-no-subset: 503 NC cluster_not_found for every call, permanently' },
    UH: { where: 'before-no-endpoints: 503 UH no_healthy_upstream, the subset cluster has no endpoints' },
  },
  world: {
    upstreams: [
      { name: 'svc-1', octet: 31, ports: [8080], labels: { version: 'v1' } },
      { name: 'svc-2', octet: 32, ports: [8080], labels: { version: 'v2' } },
    ],
    dns: { 'app.test': 'svc-1' },
  },
  phases: [
    {
      name: 'before-no-subset',
      title: 'The route to subset v2, no DestinationRule subset v2: every call 503 NC cluster_not_found',
      config: 'broken-no-subset',
      signature: {
        says: 'the route names a subset cluster Envoy does not have (no DestinationRule defines it): permanent',
        entries: { code: 503, flags: 'NC', details: /cluster_not_found/ },
        marks: ['unknownCluster'],
        facts: [signatureFacts.noSuccessAfterTheFirstFailure()],
        counters: [counterShapes.counted(/^http\..+\.no_cluster$/, 'the router counted requests to a cluster it does not have (no_cluster)')],
        config: [configShapes.routeToMissingCluster()],
      },
      run: tenCalls,
      expect: [
        routedToV2,
        everyRequest(`symptom: all ${CALLS} calls got 503, none reached a pod`, { min: CALLS }, (r) => r.status === 503 && !r.servedBy),
        everyAccessEntry('mechanism: Envoy answered them itself: 503 NC cluster_not_found', { kind: 'http', min: CALLS }, (a) => a.code === 503 && a.flags === 'NC' && a.details === 'cluster_not_found'),
        counterGrew("mechanism: the router's no_cluster counter", `http.outbound_0.0.0.0_8080.no_cluster`, CALLS),
      ],
    },
    {
      name: 'before-no-endpoints',
      title: 'Subset v2 defined with labels no pod carries (version: "2"): every call 503 UH no_healthy_upstream',
      config: 'broken-no-endpoints',
      signature: {
        says: "the subset's selector matches no pod: the cluster has no endpoints",
        entries: { code: 503, flags: 'UH', details: /no_healthy_upstream/ },
        marks: ['noHealthyHost'],
        counters: [counterShapes.counted(/^cluster\..+\.upstream_cx_none_healthy$/, 'the cluster counted requests with no healthy host (upstream_cx_none_healthy)')],
      },
      run: tenCalls,
      expect: [
        routedToV2,
        everyRequest(`symptom: all ${CALLS} calls got 503 "no healthy upstream", none reached a pod`, { min: CALLS }, (r) => r.status === 503 && /no healthy upstream/.test(r.body ?? '') && !r.servedBy),
        everyAccessEntry('mechanism: Envoy answered them itself: 503 UH no_healthy_upstream', { kind: 'http', min: CALLS }, (a) => a.code === 503 && a.flags === 'UH' && a.details === 'no_healthy_upstream'),
        counterGrew('mechanism: the subset cluster exists but has no host', `cluster.${V2}.upstream_cx_none_healthy`, CALLS),
      ],
    },
    {
      name: 'fix-subset-defined',
      title: 'The DestinationRule defines v2 with the labels the v2 pod carries: every call served by svc-2',
      config: 'fix-subset-defined',
      run: tenCalls,
      expect: [routedToV2, v2PodAnswers(`symptom gone: all ${CALLS} calls served by the v2 pod (svc-2)`), counterGrew('fix path: the subset cluster carried them', `cluster.${V2}.upstream_rq_total`, CALLS)],
    },
  ],
});
