/**
 * unready-pods-cross-zone: after an upgrade to Istio 1.31, during every rollout most calls leave
 * the caller's zone, though a ready pod of the service is right there.
 *
 * Reported  Istio 1.31 upgrade notes ("Istio will now send unhealthy endpoints unless
 *           OutlierDetection.minHealthPercent is configured": PILOT_AUTO_SEND_UNHEALTHY_ENDPOINTS,
 *           reverted by compatibilityVersion 1.30); istio/istio PR #40506; the locality failover
 *           that outlier detection turns on (istio#39477, #48084).
 * Symptom   While a deployment rolls (new pods not ready yet), cross-zone traffic jumps: 65 % of a
 *           zone-a caller's calls to ledger are served in zone-b. Nothing fails; the bill and the
 *           latency show it.
 * Cause     Since 1.31 EDS lists not-ready pods too, as UNHEALTHY. Envoy weighs each priority (the
 *           caller's zone first, with locality failover) by its healthy share × 1.4: zone-a with
 *           1 ready pod of 4 keeps 35 % of the calls and spills the rest to zone-b. Before 1.31
 *           not-ready pods were left out: zone-a was 1 healthy host of 1, and kept every call.
 * Fixes     The flag off (compatibilityVersion 1.30); outlierDetection.minHealthPercent > 0 in the
 *           DestinationRule, which makes istiod leave unhealthy endpoints out again.
 * Settled   The pinned Istio has no such flag and sends only ready pods: the before needs the newer
 *           Istio. lab/istiod reads the Pods and EndpointSlices into its Kubernetes registry.
 *
 * The pods: ledger-a1 ready, ledger-a2…a4 not ready (zone-a, the caller's); ledger-b1, b2 ready (zone-b).
 */
import { check, type Check, defineScenario, everyRequest, hostsFlagged, type Lab } from '../src/index.js';

const CALLS = 40;
const CLUSTER = 'outbound|8080||ledger.default.svc.cluster.local';
const VIEW = 'during the rollout';
const ZONE_B = ['ledger-b1', 'ledger-b2'];
const NOT_READY = ['ledger-a2', 'ledger-a3', 'ledger-a4'];
const NEWER_ISTIO = { version: 'v0.0.0-20260827124520-eed52ebb66ad', why: 'the pinned Istio has no PILOT_AUTO_SEND_UNHEALTHY_ENDPOINTS and never sends a not-ready pod (measured: its EDS lists the 3 ready pods)' };

async function callsDuringRollout(lab: Lab) {
  for (let i = 1; i <= CALLS; i++) await lab.app.send({ url: 'http://ledger.default.svc.cluster.local:8080/balance', headers: [], label: `GET /balance #${i}` });
  await lab.sidecar.hostHealth(VIEW, CLUSTER);
}

/** How many calls each zone served. */
const byZone = (e: Parameters<Check>[0]) => {
  const rs = e.timeline.requests();
  const b = rs.filter((r) => ZONE_B.includes(r.servedBy ?? '')).length;
  return { rs, b, a1: rs.filter((r) => r.servedBy === 'ledger-a1').length };
};

const noneToNotReady = everyRequest('no call reached a pod that is not ready', { min: CALLS }, (r) => r.status === 200 && !NOT_READY.includes(r.servedBy ?? ''));
const allStayInZone = check(`symptom gone: all ${CALLS} calls served in the caller's zone (ledger-a1)`, (e) => {
  const { rs, a1, b } = byZone(e);
  return { pass: rs.length >= CALLS && a1 === rs.length, evidence: `${rs.length} calls: ${a1} by ledger-a1 (zone-a), ${b} by zone-b` };
});

export default defineScenario({
  id: 'unready-pods-cross-zone',
  title: 'Istio 1.31 sends not-ready pods in EDS: during a rollout most calls leave the caller\'s zone',
  reported: ['https://istio.io/latest/news/releases/1.31.x/announcing-1.31/upgrade-notes/', 'https://github.com/istio/istio/pull/40506', 'https://github.com/istio/istio/issues/39477'],
  symptom: "after an Istio upgrade, during every rollout most calls go to another zone although a ready pod is in the caller's",
  cause: "since 1.31 EDS lists not-ready pods as UNHEALTHY: the caller's zone, weighed by its healthy share, keeps only 35 % of the calls",
  timeScaling: 'none needed: 40 calls, one after another',
  behaviourChange: 'PILOT_AUTO_SEND_UNHEALTHY_ENDPOINTS',
  world: {
    upstreams: [
      { name: 'ledger-a1', octet: 31, ports: [8080] },
      { name: 'ledger-a2', octet: 32, ports: [8080] },
      { name: 'ledger-a3', octet: 33, ports: [8080] },
      { name: 'ledger-a4', octet: 34, ports: [8080] },
      { name: 'ledger-b1', octet: 41, ports: [8080] },
      { name: 'ledger-b2', octet: 42, ports: [8080] },
    ],
    dns: { 'ledger.default.svc.cluster.local': 'ledger-b2' },
  },
  phases: [
    {
      name: 'before-unhealthy-sent',
      title: 'Istio 1.31: the 3 not-ready pods in EDS as UNHEALTHY; zone-a keeps 35 % of the calls, zone-b gets the rest',
      config: 'before-unhealthy-sent',
      requiresIstio: NEWER_ISTIO,
      signature: { none: 'every call succeeds: only where the calls were served tells it (the access log\'s upstream hosts, EDS health)' },
      run: callsDuringRollout,
      expect: [
        check(`symptom: of ${CALLS} calls, at least a quarter were served in zone-b (Envoy's weights: 65 %)`, (e) => {
          const { rs, a1, b } = byZone(e);
          return { pass: rs.length >= CALLS && b >= CALLS / 4 && a1 + b === rs.length, evidence: `${rs.length} calls: ${a1} by ledger-a1 (zone-a), ${b} by zone-b (${Math.round((100 * b) / Math.max(rs.length, 1))} %)` };
        }),
        noneToNotReady,
        hostsFlagged('mechanism: EDS lists the 3 not-ready pods, unhealthy (/clusters: failed_eds_health)', VIEW, 'failed_eds_health', NOT_READY.length),
      ],
    },
    {
      name: 'fix-old-behaviour',
      title: 'PILOT_AUTO_SEND_UNHEALTHY_ENDPOINTS=false (compatibilityVersion 1.30): EDS lists the ready pods only, every call stays in zone-a',
      config: 'fix-old-behaviour',
      istioObjects: 'before-unhealthy-sent',
      oldIstioBehaviour: true,
      // Only the newer Istio has the flag, so only its profiles can turn it back.
      requiresIstio: NEWER_ISTIO,
      run: callsDuringRollout,
      expect: [allStayInZone, noneToNotReady, hostsFlagged('fix path: EDS lists no unhealthy pod', VIEW, 'failed_eds_health', 0)],
    },
    {
      name: 'fix-min-health',
      title: 'outlierDetection.minHealthPercent 50: istiod leaves the not-ready pods out again, every call stays in zone-a',
      config: 'fix-min-health',
      requiresIstio: NEWER_ISTIO,
      run: callsDuringRollout,
      expect: [allStayInZone, noneToNotReady, hostsFlagged('fix path: EDS lists no unhealthy pod', VIEW, 'failed_eds_health', 0)],
    },
  ],
});
