/**
 * mirror-host-suffix: after an Istio upgrade to 1.28, the shadow copy of a service acts on
 * mirrored calls as if they were real: every charge is made twice.
 *
 * Reported  Istio's change to the mirrored Host (istio/istio#57530, PR #57708: "defaulted the
 *           feature flag to true with compatibility profile"); envoyproxy/envoy#9094 (the
 *           "-shadow" suffix); compatibility profile 1.27.
 * Symptom   A team mirrors its payments traffic to a shadow deployment to try a new version. The
 *           shadow copy skips side effects for mirrored calls, which it recognises by the Host
 *           Envoy gives them: "<host>-shadow". After the upgrade the shadow copy does the work of
 *           every mirrored call; no error anywhere.
 * Cause     Since 1.28 istiod sets disable_shadow_host_suffix_append on every mirror policy
 *           (DISABLE_SHADOW_HOST_SUFFIX defaults to true): the copies carry the caller's Host.
 * Fixes     Keep the old behaviour with the flag (compatibilityVersion 1.27 sets it), or stop
 *           depending on the Host: mirror to a port of the shadow copy that only mirrored traffic
 *           reaches (mirror.port 9090).
 * Settled   Both Istio builds here render disable_shadow_host_suffix_append: true by default and
 *           leave it out with the flag reverted; Envoy 1.40 then sends "app.test-shadow:8080".
 *
 * The pods: svc serves app.test; shadow is the shadow copy, on 8080 and 9090, whose guard takes a
 * request for mirrored when its Host ends in "-shadow" or it arrives on 9090. The app makes 10
 * charges (POST /charge), one after another.
 */
import { defineScenario, everyRequest, type Lab, routeHas, serviceRequest, upstreamCounted } from '../src/index.js';

const CHARGES = 10;
const ROUTE = { route: '8080', domain: 'app.test', field: 'request_mirror_policies' };

/** Ten charges; then the shadow copy's own counts, once every mirrored copy has arrived (Envoy never waits for them). */
const tenCharges = async (lab: Lab) => {
  for (let i = 1; i <= CHARGES; i++) await lab.app.send(serviceRequest('/charge', { method: 'POST', body: `{"order": ${i}}`, label: `POST /charge #${i}` }));
  for (let i = 0; i < 30; i++) {
    const c = await lab.hosts.upstreamCounts('shadow');
    if ((c.requests['POST /charge'] ?? 0) >= CHARGES) break;
    await lab.sleep(100);
  }
  await lab.hosts.upstreamCounts('svc');
};

const charged = everyRequest(`trigger: all ${CHARGES} charges answered 200 by the service (svc)`, { min: CHARGES }, (r) => r.status === 200 && r.servedBy === 'svc');
const mirrored = (label: string, host: string) => upstreamCounted(label, 'shadow', (c) => (c.requests['POST /charge'] ?? 0) === CHARGES && (c.hosts?.[host] ?? 0) === CHARGES);
const shadowWork = (label: string, work: number) => upstreamCounted(label, 'shadow', (c) => (c.work['POST /charge'] ?? 0) === work && c.shadowed === CHARGES - work);
const mirrorPolicy = (label: string, expected: (p: any) => boolean) => routeHas(label, ROUTE, (m) => Array.isArray(m) && m.length === 1 && expected(m[0]));

export default defineScenario({
  id: 'mirror-host-suffix',
  title: 'Istio 1.28 drops the "-shadow" Host suffix of mirrored calls: a shadow copy that guarded on it does the real work',
  reported: ['https://github.com/istio/istio/issues/57530', 'https://github.com/envoyproxy/envoy/issues/9094', 'https://github.com/istio/istio/blob/master/manifests/helm-profiles/compatibility-version-1.27.yaml'],
  symptom: 'after an Istio upgrade the shadow deployment acts on every mirrored call (charges twice); no error anywhere',
  cause: 'since 1.28 istiod sets disable_shadow_host_suffix_append (DISABLE_SHADOW_HOST_SUFFIX=true): mirrored calls keep the caller\'s Host, without "-shadow"',
  timeScaling: 'none needed: 10 calls one after another',
  behaviourChange: 'DISABLE_SHADOW_HOST_SUFFIX',
  world: {
    upstreams: [
      { name: 'svc', octet: 30, ports: [8080] },
      { name: 'shadow', octet: 33, ports: [8080, 9090], http: { shadowGuard: { hostSuffix: '-shadow', port: 9090 } } },
    ],
    dns: { 'app.test': 'svc' },
  },
  phases: [
    {
      name: 'before-host-unchanged',
      title: "Istio ≥ 1.28's render: the copies arrive with Host app.test:8080 and the shadow copy does all 10 charges again",
      config: 'before-host-unchanged',
      signature: { none: 'every call succeeds and the mirrored copies are not in the caller\'s access log' },
      run: tenCharges,
      expect: [
        shadowWork(`symptom: the shadow copy did the work of all ${CHARGES} mirrored charges (its guard took none for mirrored)`, CHARGES),
        mirrored(`mechanism: every copy arrived with the caller's Host, app.test:8080, not app.test-shadow:8080`, 'app.test:8080'),
        mirrorPolicy('mechanism: the route\'s mirror policy has disable_shadow_host_suffix_append: true', (p) => p.disable_shadow_host_suffix_append === true),
        charged,
      ],
    },
    {
      name: 'fix-old-behaviour',
      title: 'istiod with DISABLE_SHADOW_HOST_SUFFIX=false (compatibilityVersion 1.27): the copies arrive as app.test-shadow:8080, the guard holds',
      config: 'fix-old-behaviour',
      istioObjects: 'before-host-unchanged',
      oldIstioBehaviour: true,
      run: tenCharges,
      expect: [
        shadowWork('symptom gone: the shadow copy did no charge (all 10 taken for mirrored)', 0),
        mirrored('fix path: every copy arrived with Host app.test-shadow:8080', 'app.test-shadow:8080'),
        mirrorPolicy('fix path: the mirror policy leaves the suffix on, from the same objects', (p) => !p.disable_shadow_host_suffix_append),
        charged,
      ],
    },
    {
      name: 'fix-mirror-port',
      title: "The mirror goes to the shadow copy's port 9090, which only mirrored calls reach: the guard no longer reads the Host",
      config: 'fix-mirror-port',
      run: tenCharges,
      expect: [
        shadowWork('symptom gone: the shadow copy did no charge (all 10 arrived on 9090)', 0),
        upstreamCounted('fix path: every copy arrived on port 9090, still with Host app.test:8080 (the 1.28 behaviour in force)', 'shadow', (c) => (c.ports?.['9090'] ?? 0) === CHARGES && (c.hosts?.['app.test:8080'] ?? 0) === CHARGES),
        mirrorPolicy('fix path: the mirror policy sends the copies to outbound|9090||app-shadow.test', (p) => p.cluster === 'outbound|9090||app-shadow.test'),
        charged,
      ],
    },
  ],
});
