/**
 * duplicate-service-host: after an Istio upgrade to 1.30, calls to a service silently reach
 * another namespace's copy of it.
 *
 * Reported  Istio's upgrade note "Sidecar proxy service namespace selection changed" (its
 *           release note sidecar-pick-best-service-namespace.yaml, "this may cause traffic to route
 *           to a different service instance"); compatibility profile 1.29.
 * Symptom   After the upgrade every call to the ledger is answered 200, by the wrong pods: a
 *           load-test copy of the service that a team left in its sandbox namespace years ago.
 *           No error anywhere; the real ledger's traffic drops to zero.
 * Cause     The app calls app.test, which a VirtualService in its namespace sends to
 *           ledger.test. ledger.test is defined in two namespaces, and the pod's namespace has a
 *           Sidecar that imports only its own config. istiod finds ledger.test through the
 *           VirtualService's destination and must pick a namespace: before 1.30 the first
 *           alphabetically (payments), since 1.30 a Kubernetes Service first, else the oldest
 *           ServiceEntry (sandbox's, from 2023).
 * Fixes     Keep the old behaviour with the flag (compatibilityVersion 1.29 sets it), or name the
 *           namespace in the Sidecar (egress hosts "payments/ledger.test"): a host the Sidecar
 *           imports by name is never guessed.
 * Settled   Both Istio builds here pick sandbox's copy by default and payments' with the flag
 *           reverted; the creation times decide (swapped, the default picks payments).
 *
 * The pods: svc-1 is payments' ledger, svc-2 sandbox's load-test copy. The app calls app.test 10
 * times, 100 ms apart, then reads the sidecar's view of ledger.test's hosts.
 */
import { clusterHas, counterGrew, defineScenario, everyRequest, hostsListed, isOk, type Lab, serviceRequest } from '../src/index.js';

const CALLS = 10;
/** The cluster the VirtualService sends app.test's calls to: which namespace's ledger.test backs it is istiod's pick. */
const LEDGER = 'outbound|8080||ledger.test';

const tenCalls = async (lab: Lab) => {
  for (let i = 1; i <= CALLS; i++) {
    await lab.app.send(serviceRequest('/', { label: `GET / #${i}` }));
    await lab.sleep(100);
  }
  await lab.sidecar.hostHealth('after the calls', LEDGER);
};

/** Istio names the Service behind a cluster in its metadata: the namespace it picked. */
const backedBy = (label: string, namespace: string) =>
  clusterHas(label, LEDGER, 'metadata.filter_metadata.istio.services', (s) => Array.isArray(s) && s.length === 1 && s[0]?.namespace === namespace);

const servedBy = (label: string, host: string) => everyRequest(label, { min: CALLS }, (r) => isOk(r) && r.servedBy === host);

/** Through the route, not around it: without the port's listener a call would pass through to the address DNS gave. */
const viaLedgerCluster = counterGrew(`the calls went through the VirtualService's route to ${LEDGER}`, `cluster.${LEDGER}.upstream_rq_total`, CALLS);

export default defineScenario({
  id: 'duplicate-service-host',
  title: "A host defined in two namespaces: since Istio 1.30 the oldest copy wins, and traffic silently goes to another namespace's pods",
  reported: ['https://github.com/istio/istio/blob/master/releasenotes/notes/sidecar-pick-best-service-namespace.yaml', 'https://github.com/istio/istio/blob/master/manifests/helm-profiles/compatibility-version-1.29.yaml'],
  symptom: "every call to the service answered 200 by another namespace's forgotten copy after an Istio upgrade; the real service gets nothing",
  cause: "a Sidecar importing only its namespace, a VirtualService destination defined in two namespaces: Istio 1.30 picks the oldest ServiceEntry, not the first namespace alphabetically",
  timeScaling: 'none needed: 10 calls, 100 ms apart',
  behaviourChange: 'PILOT_SIDECAR_PICK_BEST_SERVICE_NAMESPACE',
  world: {
    upstreams: [
      { name: 'svc-1', octet: 31, ports: [8080] },
      { name: 'svc-2', octet: 32, ports: [8080] },
    ],
    dns: { 'app.test': 'svc-1' },
  },
  phases: [
    {
      name: 'before-oldest-copy-wins',
      title: "Istio ≥ 1.30's choice: the oldest ServiceEntry (sandbox's 2023 copy) backs ledger.test, every call served by its pod",
      config: 'before-oldest-copy-wins',
      signature: { none: 'every call succeeds: the access log shows 200s from another pod, which only the address tells' },
      run: tenCalls,
      expect: [
        servedBy(`symptom: all ${CALLS} calls answered 200 by sandbox's load-test pod (svc-2), none by payments' (svc-1)`, 'svc-2'),
        hostsListed("mechanism: the sidecar's cluster for ledger.test holds only the sandbox copy's pod", 'after the calls', ['svc-2']),
        backedBy("trigger: istiod picked namespace sandbox's ServiceEntry for ledger.test (the cluster's Istio metadata)", 'sandbox'),
        viaLedgerCluster,
      ],
    },
    {
      name: 'fix-old-behaviour',
      title: 'istiod with PILOT_SIDECAR_PICK_BEST_SERVICE_NAMESPACE=false (compatibilityVersion 1.29): the first namespace alphabetically, payments',
      config: 'fix-old-behaviour',
      istioObjects: 'before-oldest-copy-wins',
      oldIstioBehaviour: true,
      run: tenCalls,
      expect: [
        servedBy(`symptom gone: all ${CALLS} calls served by payments' pod (svc-1)`, 'svc-1'),
        backedBy("fix path: istiod picked namespace payments' ServiceEntry, with the same objects", 'payments'),
        viaLedgerCluster,
      ],
    },
    {
      name: 'fix-sidecar-names-namespace',
      title: 'The Sidecar imports payments/ledger.test by name: no guess, with the 1.30 behaviour in force',
      config: 'fix-sidecar-names-namespace',
      run: tenCalls,
      expect: [
        servedBy(`symptom gone: all ${CALLS} calls served by payments' pod (svc-1)`, 'svc-1'),
        backedBy("fix path: the cluster for ledger.test is payments' ServiceEntry, the one the Sidecar names", 'payments'),
        hostsListed("fix path: the sidecar's cluster holds only payments' pod", 'after the calls', ['svc-1']),
        viaLedgerCluster,
      ],
    },
  ],
});
