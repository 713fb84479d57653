/**
 * ip-autoallocate-unlisted-port: after an Istio upgrade to 1.25, calls to an external host on a
 * port its ServiceEntry does not list go to 240.240.x.x and are reset.
 *
 * Reported  Istio 1.25 upgrade notes (PILOT_ENABLE_IP_AUTOALLOCATE on by default; compatibility
 *           profile 1.24 turns it off); istio/istio PR #53661; istio/istio#39080 (the same with the
 *           per-proxy allocation: "HTTP requests to example.com:80 always failed … destination
 *           changed to this IP and passthrough cluster will use ORIGINAL_DST to connect and
 *           fail"); istio/istio#55776 (`curl http://sle.pre.es:446` → "Trying 240.240.20.52… Recv
 *           failure: Connection reset by peer").
 * Symptom   The app's calls to api.partner.test:80 fail with a reset and no response; its calls on
 *           the port the ServiceEntry lists (9444) still work. The app dialled 240.240.0.5.
 * Cause     Since 1.25 istiod gives every ServiceEntry without addresses one from 240.240.0.0/16
 *           (in its status) and pilot-agent's DNS proxy answers the host with it for every pod
 *           that captures DNS, not only those that asked (ISTIO_META_DNS_AUTO_ALLOCATE). A port
 *           the entry does not list has no listener on that address: the call falls through to
 *           PassthroughCluster, which connects to 240.240.0.5 itself, where nothing is.
 * Fixes     The flag off (PILOT_ENABLE_IP_AUTOALLOCATE=false, what compatibilityVersion 1.24 sets;
 *           the flag is in both Istio builds here): the DNS proxy answers the real address. The
 *           entry opted out (label networking.istio.io/enable-autoallocate-ip: "false"). The
 *           entry lists every port the app calls.
 * Settled   lab/istiod does not run the allocation controller: the status it would write is in
 *           the Istio YAML. The lab otherwise runs istiod with the flag off; here each phase sets
 *           it. Without --istio there is no DNS proxy: the lab DNS gives the pod the same answer.
 */
import { check, configShapes, counterShapes, defineScenario, everyAccessEntry, everyRequest, type Evidence, type Lab, signatureFacts, upstreamCounted } from '../src/index.js';

const VIP = '240.240.0.5';
const HOST = 'api.partner.test';
const CALLS = 3;
/** Istio ≥ 1.25's allocation, on the pod that captures DNS without asking for addresses. */
const NEW = { PILOT_ENABLE_IP_AUTOALLOCATE: 'true' };

/** The app calls the partner's HTTP endpoint on 80 (not in the ServiceEntry) 3 times, then its feed on 9444 (listed). */
async function partnerCalls(lab: Lab) {
  for (let i = 1; i <= CALLS; i++) await lab.app.send({ url: `http://${HOST}/health`, headers: [], label: `GET http://${HOST}/health #${i} (port 80, not listed)` });
  await lab.app.send({ url: `http://${HOST}:9444/feed`, headers: [], label: `GET http://${HOST}:9444/feed (the listed port)` });
  await lab.hosts.upstreamCounts('partner');
}

const onPort80 = (r: { op?: string }) => r.op?.includes('port 80') === true;
const onFeed = (r: { op?: string }) => r.op?.includes('listed port') === true;

/** Who gave the pod its answer for the host: the lab DNS (standing in for the DNS proxy, hand-written) or pilot-agent's proxy (it never asked the lab DNS for it). */
const answeredBy = (e: Evidence) => {
  const asked = e.timeline.entries.flatMap((x) => (x.kind === 'dns-query' && x.name === HOST ? x.answer : []));
  return asked.length ? `the lab DNS answered ${HOST} with ${[...new Set(asked)].join(', ')}` : `the lab DNS was never asked for ${HOST}: pilot-agent's DNS proxy answered`;
};

/** Where the app's calls on port 80 went, as Envoy logged the connections (the address the app dialled). */
const dialledOn80 = (label: string, expected: (e: Evidence) => string) =>
  check(label, (e) => {
    const want = expected(e);
    const seen = [...new Set(e.accessLog.filter((a) => a.ds_local?.endsWith(':80')).map((a) => a.ds_local))];
    return { pass: seen.length === 1 && seen[0] === want, evidence: `the app's connections on port 80 went to ${seen.join(', ') || 'nowhere Envoy saw'} (${want} expected; the partner is ${e.ip('partner')}); ${answeredBy(e)}` };
  });

/** The names of the listeners Envoy ran. */
const listenerNames = (e: Evidence): string[] => {
  const dump = JSON.parse(e.configDump) as { configs?: Array<Record<string, any>> };
  return (dump.configs ?? []).flatMap((c) => [...(c.dynamic_listeners ?? []).map((l: any) => l.active_state?.listener?.name), ...(c.static_listeners ?? []).map((l: any) => l.listener?.name)]).filter(Boolean);
};
/** Where the listed port 9444 listens: on the entry's allocated address, or on 0.0.0.0 (no address). */
const feedListensOn = (label: string, address: string) =>
  check(label, (e) => {
    const feed = listenerNames(e).filter((n) => n.endsWith('_9444'));
    return { pass: feed.length === 1 && feed[0] === `${address}_9444`, evidence: `listener(s) for port 9444: ${feed.join(', ') || 'none'}` };
  });

const everyCallServed = [
  everyRequest(`symptom gone: every call on port 80 got 200 from the partner`, { min: CALLS, where: onPort80 }, (r) => r.status === 200 && r.servedBy === 'partner'),
  everyRequest('…and the feed on 9444 too', { min: 1, where: onFeed }, (r) => r.status === 200 && r.servedBy === 'partner'),
  upstreamCounted('fix path: the partner served the calls on 80 and on 9444', 'partner', (c) => (c.ports['80'] ?? 0) >= CALLS && (c.ports['9444'] ?? 0) >= 1),
];
const toTheRealAddress = dialledOn80("fix path: the DNS answer was the partner's own address: the app dialled it", (e) => `${e.ip('partner')}:80`);
const noAddress = feedListensOn('fix path: the entry has no address: its port 9444 listens on 0.0.0.0', '0.0.0.0');

export default defineScenario({
  id: 'ip-autoallocate-unlisted-port',
  title: 'Istio 1.25 gives every ServiceEntry a 240.240.x.x address: calls on a port the entry does not list are reset',
  reported: ['https://istio.io/latest/news/releases/1.25.x/announcing-1.25/upgrade-notes/', 'https://github.com/istio/istio/pull/53661', 'https://github.com/istio/istio/issues/39080', 'https://github.com/istio/istio/issues/55776'],
  symptom: 'after an Istio upgrade, calls to an external host on a port its ServiceEntry does not list fail with a reset; the app dialled 240.240.x.x',
  cause: "since 1.25 every ServiceEntry gets an address from 240.240.0.0/16, which pilot-agent's DNS proxy answers; a port the entry does not list has no listener on it, and PassthroughCluster connects to 240.240.x.x itself",
  timeScaling: "Istio's connect timeout 10 s → 1 s",
  behaviourChange: 'PILOT_ENABLE_IP_AUTOALLOCATE',
  responseFlags: { UF: { where: 'before-autoallocate: PassthroughCluster (TCP) cannot connect to the allocated 240.240.0.5:80' } },
  world: {
    upstreams: [{ name: 'partner', octet: 46, ports: [80, 9444] }],
    dns: { [HOST]: 'partner' },
  },
  phases: [
    {
      name: 'before-autoallocate',
      title: `Istio ≥ 1.25: ${HOST} answered ${VIP}; the calls on 80 (not listed) reset, the feed on 9444 served`,
      config: 'before-autoallocate',
      dnsCapture: 'capture-only',
      istiodEnv: NEW,
      dns: { [HOST]: VIP },
      signature: {
        says: 'a call through PassthroughCluster to an address in 240.240.0.0/16: a ServiceEntry host (its auto-allocated address) called on a port the entry does not list',
        entries: { kind: 'tcp', flags: 'UF', cluster: /^PassthroughCluster;?$/ },
        facts: [signatureFacts.toAnAutoAllocatedAddress()],
        counters: [counterShapes.counted(/^cluster\.PassthroughCluster\.upstream_cx_connect_(fail|timeout)$/, 'PassthroughCluster could not connect where the app dialled (upstream_cx_connect_fail / _timeout)')],
        config: [configShapes.autoAllocatedListener()],
      },
      run: partnerCalls,
      expect: [
        everyRequest('symptom: every call on port 80 failed with no response (reset)', { min: CALLS, where: onPort80 }, (r) => r.status === undefined && r.error !== undefined),
        everyRequest('…while the feed on the listed port 9444 got 200 from the partner', { min: 1, where: onFeed }, (r) => r.status === 200 && r.servedBy === 'partner'),
        dialledOn80(`trigger: the app dialled the allocated address ${VIP}`, () => `${VIP}:80`),
        feedListensOn(`mechanism: istiod gave the entry ${VIP}: its listed port 9444 listens there, and nothing listens on ${VIP}:80`, VIP),
        everyAccessEntry(`mechanism: no listener for ${VIP}:80: PassthroughCluster tried ${VIP}:80 itself and could not connect (UF)`, { kind: 'tcp', min: CALLS, where: (a) => a.ds_local === `${VIP}:80` }, (a) => a.up_cluster === 'PassthroughCluster' && a.up_host === `${VIP}:80` && (a.flags ?? '').includes('UF')),
        upstreamCounted('…and the partner never got a call on 80', 'partner', (c) => (c.ports['80'] ?? 0) === 0 && (c.ports['9444'] ?? 0) >= 1),
      ],
    },
    {
      name: 'fix-old-behaviour',
      title: `PILOT_ENABLE_IP_AUTOALLOCATE=false (compatibilityVersion 1.24): no address for the entry, ${HOST} answered with its own; every call served`,
      config: 'fix-old-behaviour',
      istioObjects: 'before-autoallocate',
      dnsCapture: 'capture-only',
      istiodEnv: { PILOT_ENABLE_IP_AUTOALLOCATE: 'false' },
      run: partnerCalls,
      expect: [...everyCallServed, toTheRealAddress, noAddress],
    },
    {
      name: 'fix-opt-out',
      title: 'The ServiceEntry opts out (networking.istio.io/enable-autoallocate-ip: "false"): no address, every call served',
      config: 'fix-opt-out',
      dnsCapture: 'capture-only',
      istiodEnv: NEW,
      run: partnerCalls,
      expect: [...everyCallServed, toTheRealAddress, noAddress],
    },
    {
      name: 'fix-declare-port',
      title: `The ServiceEntry lists port 80 too: ${VIP}:80 has its listener, routed to the partner`,
      config: 'fix-declare-port',
      dnsCapture: 'capture-only',
      istiodEnv: NEW,
      dns: { [HOST]: VIP },
      run: partnerCalls,
      expect: [
        ...everyCallServed,
        dialledOn80(`fix path: the app still dialled the allocated address ${VIP}`, () => `${VIP}:80`),
        everyAccessEntry(`fix path: Envoy routed ${HOST}:80 to its own cluster`, { kind: 'http', min: CALLS, where: (a) => a.ds_local === `${VIP}:80` }, (a) => a.code === 200 && a.up_cluster === `outbound|80||${HOST}`),
      ],
    },
  ],
});
