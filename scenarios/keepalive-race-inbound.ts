/**
 * keepalive-race-inbound: sporadic 503 UC on the inbound side, between the sidecar and its app.
 *
 * Reported  seed 001 §9 (../shared/seeds/001_1893f8f80347ef09.txt, 偶发503问题).
 * Symptom   Callers of a meshed service get a 503 now and then (flag UC,
 *           upstream_reset_before_response_started{connection_termination}); calling the app
 *           directly never fails.
 * Cause     Envoy pools its connections to the app (inbound|8080||) and keeps idle ones for its
 *           default 1 h; the app's HTTP server (Tomcat in the seed) closes idle keep-alive
 *           connections much sooner. When Envoy reuses a connection the app is just closing, the
 *           request is met with a reset.
 * Fix       The seed's EnvoyFilter: the inbound cluster's idleTimeout below the app's.
 *
 * Determinism: the fault `resetIdleReuse` makes the app's server answer a request on a connection
 * idle ≥ 1 s with an RST, so the race is lost every time; `natural` sweeps the idle gap across an
 * app server that closes idle connections at 100 ms and measures the rate per gap.
 * Time scaling: the app's idle timeout (Tomcat 60 s) → 1 s; the caller pauses 1.3 s; the fix's
 * 20 s → 0.5 s.
 */
import { callsWithIdleGaps, check, counterGrew, counterShapes, defineScenario, everyRequestOk, faultNeverFired, podServingCallers, raceLost, raceRateMeasured, type RaceTarget, signatureFacts, SWEEP, sweepIdleGaps } from '../src/index.js';

const APP_PORT = 8080;
/** A caller outside the pod calls the app on the pod's address; the app's own server is the one that gives up. */
const TARGET: RaceTarget = { url: (lab) => `http://${lab.ip('pod')}:${APP_PORT}/`, client: 'client', server: 'pod', cluster: 'inbound|8080||' };
const REQUESTS = 6;
const calls = callsWithIdleGaps(TARGET, { requests: REQUESTS, gapMs: 1300, serverKeepAliveMs: 1000 });

export default defineScenario({
  id: 'keepalive-race-inbound',
  title: 'Sporadic 503 UC on the inbound side: the app closes an idle connection as its sidecar reuses it',
  seed: 'a write-up in Chinese of the xDS problems one team met in production (its sections are cited in reported)',
  reported: ['seed 001 §9: 偶发503问题'],
  symptom: '503 UC upstream_reset_before_response_started{connection_termination} for callers of the app, now and then',
  cause: "the app's server closes idle keep-alive connections sooner than Envoy's inbound cluster (1 h): Envoy reuses one the app gave up on",
  timeScaling: "app idle timeout (Tomcat 60 s) → 1 s; the caller's idle gaps 1.3 s; the fix's idleTimeout 20 s → 0.5 s",
  responseFlags: { UC: { where: "before: 503 UC connection_termination from the sidecar's inbound cluster" } },
  world: podServingCallers({ port: APP_PORT }),
  phases: [
    {
      name: 'before',
      title: "Envoy keeps idle connections to the app for 1 h, the app gives up after 1 s: 503 UC on reuse",
      config: 'broken',
      signature: {
        says: "the app's server closed a kept-alive connection as its sidecar's inbound cluster reused it: the app's keep-alive shorter than the inbound idle timeout (1 h)",
        entries: { code: 503, flags: 'UC', details: /^upstream_reset_before_response_started\{connection_termination\}$/, cluster: /^inbound\|/ },
        facts: [signatureFacts.onAReusedUpstreamConnection()],
        counters: [counterShapes.counted(/^cluster\.inbound\|.+\.upstream_cx_destroy_remote_with_active_rq$/, 'the inbound cluster counted connections the app closed under a request')],
      },
      run: calls,
      expect: raceLost(TARGET),
    },
    {
      name: 'fix-idle-timeout',
      title: "The seed's EnvoyFilter: inbound idleTimeout 0.5 s, below the app's: Envoy retires idle connections first",
      config: 'fix-idle-timeout',
      run: calls,
      expect: [
        everyRequestOk(REQUESTS),
        counterGrew('fix path: Envoy closed the idle connections to the app itself', `cluster.${TARGET.cluster}.upstream_cx_idle_timeout`, REQUESTS - 1),
        check('fix path: every request reached the app on a fresh connection', (e) => {
          const http = e.accessLog.filter((a) => a.kind === 'http');
          const cxs = new Set(http.map((a) => a.up_cx));
          return { pass: http.length >= REQUESTS && cxs.size === http.length, evidence: `${http.length} requests on ${cxs.size} upstream connection(s) to the app` };
        }),
        faultNeverFired("the app's server never had to reset a connection (the fault was armed)", 'pod', 'reset-idle-reuse'),
      ],
    },
    {
      // The same measurement as keepalive-race's, on the inbound side: the app's server closes
      // idle connections at exactly 100 ms and says when; the caller's gaps sweep that moment.
      name: 'natural',
      kind: 'measure',
      title: "An app server that closes idle connections after 100 ms: the caller's idle gaps swept in 1 ms steps; the rate of 503 UC per gap",
      config: 'broken',
      appServer: { idleCloseMs: SWEEP.idleCloseMs },
      run: sweepIdleGaps(TARGET),
      // A 1 ms sweep: its loss rate per gap would measure the neighbours' load, not the race.
      load: 'alone',
      expect: raceRateMeasured(TARGET),
    },
  ],
});
