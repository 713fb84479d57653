// Long: one incident told whole, as one report: its story, its world and its phases (three
// befores, three fixes), each with the checks that prove it.
/**
 * rolling-update-stale-endpoint: a pod of a rolling update goes while the caller's sidecar still
 * has it in EDS; the calls Envoy picks for it fail with 503 UF until EDS moves on.
 *
 * Reported  istio#36222 ("envoy does not remove the old endpoints after the pod RollingUpdate"),
 *           istio#54539 (FAILED outlier check on the stale IPs), envoyproxy/gateway#4685, #6198;
 *           catalogue §2 (../shared/research/incident-catalogue.md).
 * Symptom   During a rollout, a share of calls to a service get 503 "upstream connect error …
 *           connection failure"; the access log's upstream_host is the IP of a pod that is gone.
 *           A service with one pod answers "no healthy upstream" (503 UH) for a while.
 * Cause     Kubernetes removes the pod; the control plane's EDS update reaches the sidecar later.
 *           Until then Envoy's load balancer still picks the dead pod: refused at once (nothing
 *           listens: UF, connection refused) or, when its IP is gone, a connect timeout (UF after
 *           connect_timeout). With retries that land on the same dead host too: UF,URX. With the
 *           service's only pod gone from EDS and no new one yet: UH.
 * Fixes     Istio's default retry policy (connect-failure, previous_hosts: the retry goes to a pod
 *           that is still there); outlier detection ejecting the dead pod after its first
 *           failure; a preStop on the server that keeps it serving until EDS has moved on.
 * Settled   On Envoy 1.40.0 Istio's default retry policy narrows the window but does not close
 *           it: over ~190 retried calls, 3 needed a third attempt and 1 failed on all three
 *           (503 URX,UF to the gone pod), as previous_hosts gives the load balancer 5 picks to find
 *           a host not tried yet and, with two hosts, all 5 can come back with the gone pod.
 *           A call in flight while EDS empties the cluster ends as UH naming its first host.
 * Time      The EDS lag is 1.5 s (3 s for a black-holed pod, as each pick waits for the 1 s
 *           connect timeout, Istio's 10 s scaled); the app calls every 50 ms.
 *
 * The endpoints are pushed over EDS (lab.push.endpoints): the service's cluster is `type: EDS`, as
 * istiod renders it, and under --istio the lab changes the ServiceEntry's endpoints so that
 * istiod itself pushes.
 */
import { type AccessLogEntry, blackhole, type Check, check, clusterStat, counterGrew, counterShapes, counterStayedZero, defineScenario, describeAccess, everyAccessEntry, everyRequest, type Evidence, type Fault, faultFired, faultNeverFired, hostsFlagged, hostsListed, isOk, type Lab, outcomeCounts, requestsIn, SERVICE_CLUSTER, SERVICE_URL, signatureFacts, stop } from '../src/index.js';

const EVERY_MS = 50;
const EDS_LAG_MS = 1500;
const SERVICE = 'app.test';
/** The views of the service's hosts right after the pod went (what EDS still says), and just before EDS moved on. */
const STALE = 'when the pod went';
const STALE_LATER = 'just before EDS moved on';
const REFUSED = /^upstream_reset_before_response_started\{(remote_connection_failure|connection_failure)(,|\|)?.*(Connection_refused|111)/;

const appCalls = (lab: Lab, maxDurationMs: number) =>
  lab.app.start({ url: `${SERVICE_URL}/`, everyMs: EVERY_MS, maxRequests: 400, maxDurationMs, requestTimeoutMs: 3000, connectTimeoutMs: 1000, keepAliveTimeoutMs: 30_000 });

/**
 * Two pods serve; svc-1 goes (`fault`) while EDS still lists it, and EDS catches up `lagMs` later.
 * `preStopMs`: the fix order instead, EDS first and the pod `preStopMs` after.
 */
const podGoes = (fault: Fault, o: { lagMs: number; preStopMs?: number }) => async (lab: Lab) => {
  await appCalls(lab, o.lagMs + 6000);
  await lab.waitFor('10 calls served', (t) => t.requests().filter(isOk).length >= 10, 3000);
  if (o.preStopMs !== undefined) {
    await lab.push.endpoints(SERVICE, ['svc-2']);
    await lab.sleep(o.preStopMs);
    await lab.hosts.inject(fault, 'svc-1');
  } else {
    await lab.hosts.inject(fault, 'svc-1');
    await lab.sidecar.hostHealth(STALE, SERVICE_CLUSTER);
    await lab.sleep(o.lagMs);
    await lab.sidecar.hostHealth(STALE_LATER, SERVICE_CLUSTER);
    await lab.push.endpoints(SERVICE, ['svc-2']);
  }
  const seen = lab.timeline.requests().length;
  await lab.waitFor('20 calls after the EDS push', (t) => t.requests().length >= seen + 20, 5000);
  await lab.app.stop();
};

/** The one pod goes; EDS removes it after the lag, and lists the new pod a second later. */
async function onlyPodReplaced(lab: Lab) {
  await appCalls(lab, 9000);
  await lab.waitFor('5 calls served', (t) => t.requests().filter(isOk).length >= 5, 3000);
  await lab.hosts.inject(stop, 'svc-1');
  await lab.sidecar.hostHealth(STALE, SERVICE_CLUSTER);
  await lab.sleep(EDS_LAG_MS);
  await lab.push.endpoints(SERVICE, []);
  await lab.sleep(1000);
  await lab.push.endpoints(SERVICE, ['svc-2']);
  // Counted from the marker, as the check counts: a call in flight at the push ends after it.
  const newPodAt = lab.timeline.markers().filter((m) => m.category === 'eds').at(-1)!.t;
  await lab.waitFor('10 calls started after the new pod is in EDS', (t) => t.requests().filter((r) => r.t >= newPodAt).length >= 10, 5000);
  await lab.app.stop();
}

/** The EDS pushes' marker labels (`push` when sent, `eds` when Envoy has the new set). */
const EMPTIED = `EDS ${SERVICE} → [none]`;
const NEW_POD = (e: Evidence) => `EDS ${SERVICE} → [svc-2 (${e.ip('svc-2')})]`;
const at = (a: AccessLogEntry) => Date.parse(a.ts);
/**
 * Entries that started after `from` and had ended by `to`: a call still in flight while an EDS
 * push is taken may end either way (measured: a retry that found the cluster emptied ends as UH,
 * naming the host of its first attempt), so windows end when a push is sent.
 */
const entriesBetween = (e: Evidence, from: number, to: number) => (e.accessLog ?? []).filter((a) => a.kind === 'http' && at(a) >= from && at(a) + (a.duration_ms ?? 0) < to);
const toHost = (e: Evidence, host: string) => (a: AccessLogEntry) => a.up_host?.startsWith(`${e.ip(host)}:`) ?? false;

/**
 * The pod closes the connections it had as it goes: a call Envoy puts on one of them in that
 * instant gets 503 UC connection_termination instead (measured once in ~40 runs, within 100 ms of
 * the stop; no retry policy of Istio's retries a reset).
 */
const closedAsItWent = (e: Evidence) => (a: AccessLogEntry) => a.code === 503 && a.flags === 'UC' && /connection_termination/.test(a.details ?? '') && at(a) - e.markerAt('fault') < 200;

/** The entry's response flags in a fixed order (Envoy writes "URX,UF"). */
const flagSet = (a: AccessLogEntry) => (a.flags ?? '').split(',').sort().join(',');

/** Between the pod going and EDS catching up: every failed call went to the pod that had gone, and the other pod served the rest. */
/**
 * `o.lastMs`: the failures went on to the end: one started in the window's last `lastMs` (the
 * gone pod kept being picked until EDS moved on, not only once). Half the lag, as the load
 * balancer picks the gone pod for about 1 call in 3 (measured: 8 of 29 in one window), so a quiet
 * stretch of ~10 calls at the end happens by chance (once in ~25 runs a 500 ms bound was missed
 * by 4 ms).
 */
const staleWindow = (symptom: string, failed: (a: AccessLogEntry) => boolean, o: { minFailed: number; minServed: number; lastMs?: number }): Check =>
  check(symptom, (e) => {
    const end = e.markerAt('push');
    const window = entriesBetween(e, e.markerAt('fault'), end);
    const bad = window.filter((a) => a.code !== 200);
    const good = window.filter((a) => a.code === 200);
    const lastFailure = Math.max(...bad.map(at));
    return {
      pass: bad.length >= o.minFailed && bad.every((a) => (failed(a) || closedAsItWent(e)(a)) && toHost(e, 'svc-1')(a)) && good.length >= o.minServed && good.every(toHost(e, 'svc-2')) && (o.lastMs === undefined || end - lastFailure <= o.lastMs),
      evidence: `between the pod going and the EDS push: ${describeAccess(window)}${bad.length ? `; the last failure started ${end - lastFailure} ms before the push` : ''}`,
    };
  });

/** After EDS moved on, every call was served by the pod that is still there. */
const servedAfterEds = (host = 'svc-2') =>
  everyRequest(`after the EDS push every call was served by ${host}`, { after: 'eds', min: 10 }, (r) => isOk(r) && r.servedBy === host);

const staleInEds = hostsListed('trigger: when the pod went, EDS (/clusters) still listed it, next to the other pod', STALE, ['svc-1', 'svc-2']);

export default defineScenario({
  id: 'rolling-update-stale-endpoint',
  title: 'A pod of a rolling update goes while EDS still lists it: 503 UF for the calls picked for it, UH when the only pod goes',
  reported: ['https://github.com/istio/istio/issues/36222', 'https://github.com/istio/istio/issues/54539', 'https://github.com/envoyproxy/gateway/issues/4685'],
  symptom: 'during a rollout some calls get 503 UF (connection refused, or a connect timeout) to a pod IP that is gone; UF,URX when the retries hit it too; UH when the only pod has gone from EDS',
  cause: "EDS lags behind the pod's removal: Envoy's load balancer keeps picking the pod that has gone until the control plane's update arrives",
  responseFlags: {
    UF: { where: 'before: 503 UF connection refused (or a connect timeout when the IP is gone) to the pod still in EDS' },
    URX: { where: 'before-only-host: 503 UF,URX when every retry hits the same dead pod' },
    UH: { where: 'before-only-host: 503 UH no_healthy_upstream while EDS lists no pod' },
  },
  timeScaling: "EDS lag 1.5 s (3 s black-holed); connect timeout 10 s → 1 s; the app calls every 50 ms",
  world: {
    upstreams: [
      { name: 'svc-1', octet: 31, ports: [8080] },
      { name: 'svc-2', octet: 32, ports: [8080] },
    ],
    dns: { 'app.test': 'svc-1' },
  },
  phases: [
    {
      name: 'before',
      title: 'No retries: svc-1 stops while EDS lists it for 1.5 s; the calls picked for it get 503 UF (refused)',
      config: 'broken',
      signature: {
        says: 'calls picked for an endpoint that has gone (a pod of a rollout, still in EDS): refused, not retried',
        // A TLS handshake that failed (TLS_error in the details) reached a live server: not a gone pod.
        entries: { code: 503, flags: 'UF', details: /^(?!.*TLS_error).*(connection_failure|Connection_refused|delayed_connect_error)/, cluster: /^outbound\|/ },
        facts: [signatureFacts.upstreamHostStays(), signatureFacts.othersToTheClusterSucceed(), signatureFacts.failuresBetweenSuccesses()],
        counters: [counterShapes.counted(/^cluster\.outbound\|.+\.upstream_cx_connect_(fail|timeout)$/, "the service's cluster counted connections it could not make")],
      },
      run: podGoes(stop, { lagMs: EDS_LAG_MS }),
      expect: [
        faultFired('svc-1', 'stop'),
        staleInEds,
        staleWindow('symptom: until EDS moved on (into its second half), the calls picked for svc-1 got 503 UF (refused at once), svc-2 served the others', (a) => a.code === 503 && a.flags === 'UF' && REFUSED.test(a.details ?? ''), { minFailed: 3, minServed: 1, lastMs: EDS_LAG_MS / 2 }),
        everyAccessEntry('mechanism: one attempt each, no retry (the route has no retry policy)', { kind: 'http', where: (a) => a.code === 503 }, (a) => (a.attempts ?? 1) === 1),
        counterGrew('mechanism: Envoy counted the refused connections to the service', clusterStat('upstream_cx_connect_fail'), 1),
        servedAfterEds(),
      ],
    },
    {
      name: 'before-blackholed',
      title: "No retries: svc-1's IP stops answering while EDS lists it; the calls picked for it wait out the 1 s connect timeout, then 503 UF",
      config: 'broken',
      signature: {
        says: 'calls picked for an endpoint whose IP is gone (a pod of a rollout, still in EDS): connect timeout, not retried',
        entries: { code: 503, flags: 'UF', details: /connection_timeout|Connection_timed_out/, cluster: /^outbound\|/ },
        facts: [signatureFacts.upstreamHostStays(), signatureFacts.othersToTheClusterSucceed(), signatureFacts.failuresBetweenSuccesses()],
        counters: [counterShapes.counted(/^cluster\.outbound\|.+\.upstream_cx_connect_(fail|timeout)$/, "the service's cluster counted connections it could not make")],
      },
      run: podGoes(blackhole, { lagMs: 2 * EDS_LAG_MS }),
      expect: [
        faultFired('svc-1', 'blackhole'),
        staleInEds,
        staleWindow('symptom: until EDS moved on, the calls picked for svc-1 got 503 UF after the 1 s connect timeout, svc-2 served the others', (a) => a.code === 503 && a.flags === 'UF' && (a.duration_ms ?? 0) >= 900, { minFailed: 1, minServed: 0 }),
        counterGrew('mechanism: Envoy counted connect timeouts to the service', clusterStat('upstream_cx_connect_timeout'), 1),
        servedAfterEds(),
      ],
    },
    {
      name: 'before-only-host',
      title: "The service's only pod goes, Istio's default retries: 503 UF,URX while EDS lists it, 503 UH while EDS lists none, 200 once the new pod is in",
      config: 'before-only-host',
      signature: {
        says: "the service's only endpoint has gone and every retry hits it too (a one-replica rollout, EDS lagging)",
        // A gone pod refuses or times out; a TLS handshake that failed (TLS_error) reached a live server.
        entries: { code: 503, flags: 'UF,URX', details: /^(?!.*TLS_error).*(connection_failure|Connection_refused|delayed_connect_error|connection_timeout)/, cluster: /^outbound\|/ },
        facts: [signatureFacts.upstreamHostStays(), signatureFacts.failuresBetweenSuccesses()],
        counters: [counterShapes.counted(/^cluster\.outbound\|.+\.upstream_cx_none_healthy$/, "the service's cluster counted requests with no healthy host left (upstream_cx_none_healthy)")],
      },
      run: onlyPodReplaced,
      expect: [
        faultFired('svc-1', 'stop'),
        hostsListed('trigger: when the pod went, EDS (/clusters) still listed it, alone', STALE, ['svc-1']),
        check('symptom: while EDS still listed the dead pod, every call got 503 UF,URX: 3 attempts, all to svc-1 (but one the pod\'s going cut: UC)', (e) => {
          const w = entriesBetween(e, e.markerAt('fault'), e.markerAt('push'));
          return { pass: w.length >= 3 && w.every((a) => ((a.code === 503 && flagSet(a) === 'UF,URX' && a.attempts === 3) || closedAsItWent(e)(a)) && toHost(e, 'svc-1')(a)), evidence: `${describeAccess(w)}; attempts ${[...new Set(w.map((a) => a.attempts))].join(', ')}` };
        }),
        check('symptom: while EDS listed no pod, every call got 503 UH no_healthy_upstream', (e) => {
          const w = entriesBetween(e, e.markerAt('eds', EMPTIED), e.markerAt('push', NEW_POD(e)));
          return { pass: w.length >= 5 && w.every((a) => a.code === 503 && a.flags === 'UH' && a.details === 'no_healthy_upstream'), evidence: describeAccess(w) };
        }),
        counterGrew('mechanism: Envoy retried, and the retries failed too', clusterStat('upstream_rq_retry'), 2),
        check('once the new pod was in EDS, every call was served by it', (e) => {
          const rs = requestsIn(e).filter((r) => r.t >= e.markerAt('eds', NEW_POD(e)) - e.timeline.startedAt);
          return { pass: rs.length >= 10 && rs.every((r) => isOk(r) && r.servedBy === 'svc-2'), evidence: outcomeCounts(rs) };
        }),
      ],
    },
    {
      name: 'fix-default-retry',
      title: "Istio's default retry policy: the calls picked for the gone pod are refused and retried on the other (previous_hosts)",
      config: 'fix-default-retry',
      run: podGoes(stop, { lagMs: EDS_LAG_MS }),
      expect: [
        faultFired('svc-1', 'stop'),
        staleInEds,
        // Measured over ~190 retried calls (1.40.0, hand-written and istiod's): the retry went to
        // svc-2 on the second attempt in all but 4; 3 needed the third attempt, and 1 failed on all
        // three (503 URX,UF): previous_hosts lets Envoy pick 5 times for a host not tried yet, and
        // with two hosts all 5 picks can come back with the gone pod. Istio's default narrows the
        // window; it does not close it. At most one failed call per phase is allowed, of that kind or
        // of one more: a call on a kept-alive connection that svc-1 closed as it stopped (503 UC
        // connection_termination, one attempt; seen once in a full suite, netns --istio, the call
        // ending 4 ms before the stop was done). Istio's default retry_on has no "reset", so the
        // real fix does not save that call either (keepalive-race and shutdown-sidecar-first show it).
        check("symptom gone: every call served, but for at most one: its three attempts all hit the gone pod (previous_hosts' 5 picks all came back with it), or the gone pod closed its connection under it as it stopped", (e) => {
          const rs = requestsIn(e);
          const failed = rs.filter((r) => !isOk(r));
          const failures = (e.accessLog ?? []).filter((a) => a.kind === 'http' && a.code !== 200);
          const allThree = (a: AccessLogEntry) => flagSet(a) === 'UF,URX' && a.attempts === 3;
          const cutAsItWent = (a: AccessLogEntry) => flagSet(a) === 'UC' && /connection_termination/.test(a.details ?? '') && a.attempts === 1;
          const onlyThoseKinds = failures.every((a) => a.code === 503 && (allThree(a) || cutAsItWent(a)) && toHost(e, 'svc-1')(a));
          return { pass: rs.length >= 40 && failed.length <= 1 && failures.length === failed.length && onlyThoseKinds, evidence: `${rs.length} calls: ${outcomeCounts(rs)}; Envoy's failures: ${describeAccess(failures)}` };
        }),
        check('fix path: the calls Envoy first sent to the gone pod were retried on svc-2 and served', (e) => {
          const retried = (e.accessLog ?? []).filter((a) => a.kind === 'http' && (a.attempts ?? 1) > 1);
          const served = retried.filter((a) => a.code === 200);
          return { pass: served.length >= 1 && served.every(toHost(e, 'svc-2')), evidence: `retried calls: ${describeAccess(retried)}; attempts ${[...new Set(retried.map((a) => a.attempts))].join(', ') || 'none'}` };
        }),
        counterGrew('the trigger still fired: connections to the gone pod were refused', clusterStat('upstream_cx_connect_fail'), 1),
        counterGrew('fix path: Envoy retried, and the retries succeeded', clusterStat('upstream_rq_retry_success'), 1),
      ],
    },
    {
      name: 'fix-outlier-detection',
      title: "Outlier detection (consecutive5xxErrors 1), no retries: the gone pod's first refused call ejects it; the rest go to svc-2 before EDS moves on",
      config: 'fix-outlier-detection',
      run: podGoes(stop, { lagMs: EDS_LAG_MS }),
      expect: [
        // The ejecting failure is a refused connect, or (seen once, docker --istio) a call cut as
        // the pod closed its connections: then no connection attempt reaches it after the stop.
        check('the trigger fired: a call to the gone pod failed (refused, or cut as it went)', (e) => {
          const failed = (e.accessLog ?? []).filter((a) => a.kind === 'http' && a.code === 503 && toHost(e, 'svc-1')(a));
          return { pass: failed.length >= 1, evidence: describeAccess(failed) };
        }),
        staleInEds,
        check('symptom bounded: one call failed (the one that ejected the pod), every other call was served', (e) => {
          const rs = requestsIn(e);
          const failed = rs.filter((r) => !isOk(r));
          return { pass: rs.length >= 40 && failed.length === 1 && failed[0]!.status === 503, evidence: `${failed.length} of ${rs.length} failed: ${outcomeCounts(failed)}` };
        }),
        counterGrew('fix path: Envoy ejected the gone pod', clusterStat('outlier_detection.ejections_enforced_consecutive_5xx'), 1),
        hostsFlagged('fix path: before EDS moved on, /clusters showed the gone pod ejected (failed_outlier_check)', STALE_LATER, 'failed_outlier_check', 1),
      ],
    },
    {
      name: 'fix-prestop',
      title: "The server's preStop: EDS moves on first, the pod stops 1 s later; no call reaches it after it stopped",
      config: 'broken',
      run: podGoes(stop, { lagMs: EDS_LAG_MS, preStopMs: 1000 }),
      expect: [
        faultNeverFired('fix path: no connection reached svc-1 after it stopped (EDS had moved on)', 'svc-1', 'stop'),
        everyRequest('symptom gone: every call served', { min: 40 }, isOk),
        everyRequest('after the EDS push, svc-2 served every call (svc-1 kept serving until then, not after)', { after: 'eds', min: 20 }, (r) => isOk(r) && r.servedBy === 'svc-2'),
        counterStayedZero('no connection to the service failed', clusterStat('upstream_cx_connect_fail')),
      ],
    },
  ],
});
