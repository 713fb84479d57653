/**
 * shutdown-sidecar-first: at pod shutdown the sidecar drains and exits while the app is still
 * finishing its work; the app's calls after that are refused at once.
 *
 * Reported  istio#7136, #19564, #34855, #36222 (connection refused during pod termination, the
 *           sidecar gone first); Istio's EXIT_ON_ZERO_ACTIVE_CONNECTIONS / MINIMUM_DRAIN_DURATION
 *           (1.12+); catalogue §1 (../shared/research/incident-catalogue.md).
 * Symptom   During a rolling update, the terminating pods' last outbound calls fail with
 *           "connect: connection refused" to services that are up; the app's shutdown logs
 *           errors for work it could not finish.
 * Cause     Kubernetes sends SIGTERM to every container at once. pilot-agent drains Envoy
 *           (/drain_listeners?inboundonly&graceful), waits terminationDrainDuration (5 s) and
 *           terminates it; the app, finishing its work for longer, keeps calling. The iptables
 *           interception is still there and sends its connections to 15001, where nothing
 *           listens any more: refused, at once.
 * Fixes     terminationDrainDuration at least the app's shutdown; EXIT_ON_ZERO_ACTIVE_CONNECTIONS
 *           (the sidecar waits MINIMUM_DRAIN_DURATION, then until no connection is active); a
 *           preStop hook on the sidecar container that holds its SIGTERM back while the app works.
 * Settled   On Envoy 1.40.0 /drain_listeners?inboundonly&graceful leaves server.state at 0 (LIVE):
 *           a listener drain is not a server drain; the outbound listeners keep serving until
 *           pilot-agent kills Envoy (SIGKILL).
 * Time      terminationDrainDuration 5 s → 1 s; drainDuration 45 s → 9 s; the app's 15 s of
 *           shutdown work → 3 s.
 *
 * The inbound side: callers of the terminating pod (each with its own sidecar) still have it in
 * EDS; once its sidecar has exited their calls reach 15006, where nothing listens, and their
 * sidecars answer 503 UF (URX after Istio's default retries, which can only retry the same pod).
 * The fix is the same: a terminationDrainDuration that covers the time until callers stop.
 *
 * Under --istio Istio's own pilot-agent runs the sidecar and does the drain itself (its
 * terminationDrainDuration, EXIT_ON_ZERO_ACTIVE_CONNECTIONS and MINIMUM_DRAIN_DURATION come from
 * each phase's `shutdown`). Hand-written, the lab plays pilot-agent's part with the same admin calls
 * in the same order (src/lab/sidecar-shutdown.ts, from pkg/envoy/agent.go in the module it builds).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { SERVICE_URL, check, defineScenario, describeAccess, everyRequest, isOk, outcomeCounts, type Evidence, type Lab, type RequestEntry } from '../src/index.js';

const SIGTERM_AT_MS = 1000;
const APP_PORT = 8080;
const APP_SHUTDOWN_MS = 3000;
/** The app's own connect timeout: a refusal comes before it, a dropped SYN after it. */
const APP_CONNECT_TIMEOUT_MS = 1000;
const DRAIN_MS = 1000; // terminationDrainDuration 5 s, scaled
/**
 * drainDuration 45 s, scaled the same way. Measured under pilot-agent with the lab's 2 s instead:
 * the drained inbound listener closed 2 s after the SIGTERM, and callers got 503 UF (refused) while
 * a 4 s terminationDrainDuration was still running: a pod whose drainDuration is shorter than its
 * terminationDrainDuration refuses its callers early.
 */
const DRAIN_DURATION_MS = 9000;

/**
 * The app calls the service every 200 ms; SIGTERM reaches the pod 1 s in, both containers at once:
 * the sidecar stops as told, the app finishes its work for 3 s more, then stops (both timed from
 * the SIGTERM, whatever the backend's own latency).
 */
const podTerminates = async (lab: Lab) => {
  await lab.app.start({ url: `${SERVICE_URL}/work`, everyMs: 200, maxRequests: 100, maxDurationMs: 20_000, requestTimeoutMs: 2000, connectTimeoutMs: APP_CONNECT_TIMEOUT_MS, keepAliveTimeoutMs: 60_000 });
  await lab.sleep(SIGTERM_AT_MS);
  const redirectedBefore = await lab.hosts.chainPackets('pod', 'nat', 'ISTIO_REDIRECT');
  lab.timeline.mark('note', 'SIGTERM to the pod (app and sidecar at once)');
  const sidecarGone = lab.sidecar.shutDown();
  await lab.sleep(APP_SHUTDOWN_MS);
  await lab.app.stop();
  await sidecarGone;
  lab.note('nat ISTIO_REDIRECT packets after the SIGTERM', String((await lab.hosts.chainPackets('pod', 'nat', 'ISTIO_REDIRECT')) - redirectedBefore));
};

/**
 * The inbound side: a caller pod (its own sidecar) calls the pod every 200 ms; SIGTERM reaches the
 * pod 1 s in; the callers stop 3 s after it (EDS has moved on by then), the pod's app serving
 * throughout.
 */
const podTerminatesWithCallers = async (lab: Lab) => {
  const url = `http://${lab.ip('pod')}:${APP_PORT}/work`;
  const until = Date.now() + SIGTERM_AT_MS + APP_SHUTDOWN_MS;
  const calling = (async () => {
    while (Date.now() < until) {
      await lab.caller('client').send({ url, headers: [], label: 'GET /work (caller pod → pod)', timeoutMs: 2000 });
      await delay(200);
    }
  })();
  let inboundBefore = 0;
  try {
    await lab.sleep(SIGTERM_AT_MS);
    inboundBefore = await lab.hosts.chainPackets('pod', 'nat', 'ISTIO_IN_REDIRECT');
    lab.timeline.mark('note', 'SIGTERM to the pod (app and sidecar at once)');
    await lab.sidecar.shutDown();
  } finally {
    await calling.catch(() => {}); // its own failure is reported below; a failure above ends the phase first
  }
  await calling;
  lab.note('nat ISTIO_IN_REDIRECT packets after the SIGTERM', String((await lab.hosts.chainPackets('pod', 'nat', 'ISTIO_IN_REDIRECT')) - inboundBefore));
};

const exitedAt = (e: Evidence) => e.noteNumber('sidecar exited');
const afterExit = (e: Evidence) => e.timeline.requests().filter((r) => r.t > exitedAt(e));
const isRefused = (r: RequestEntry) => r.status === undefined && r.error === 'ECONNREFUSED';

const sidecarOutlived = (who: string) => check(`fix path: the sidecar exited after ${who} stopped calling`, (e) => {
  const last = Math.max(...e.timeline.requests().map((r) => r.t + r.latencyMs));
  return { pass: exitedAt(e) > last, evidence: `last call ended at ${last} ms, sidecar exited at ${exitedAt(e)} ms` };
});

const noCallRefused = everyRequest("symptom gone: every call of the app's shutdown work served", { min: 15 }, (r) => isOk(r) && r.servedBy === 'svc');

export default defineScenario({
  id: 'shutdown-sidecar-first',
  title: "Pod shutdown: the sidecar drains and exits first, the app's last calls are refused at once",
  reported: ['https://github.com/istio/istio/issues/7136', 'https://github.com/istio/istio/issues/19564', 'https://github.com/istio/istio/issues/34855', 'https://github.com/istio/istio/issues/36222'],
  symptom: "a terminating pod's last outbound calls fail with connection refused, to services that are up",
  cause: 'pilot-agent drains and terminates Envoy after terminationDrainDuration while the app still works; the interception sends its new connections to 15001, where nothing listens',
  responseFlags: {
    UF: { where: "before-inbound: the callers' sidecars, 503 UF connection refused by the terminating pod (URX after Istio's default retries to the same pod)" },
    URX: { where: "before-inbound: 503 URX,UF, every retry refused by the same terminating pod" },
  },
  timeScaling: "terminationDrainDuration 5 s → 1 s, drainDuration 45 s → 9 s, the app's shutdown 15 s → 3 s",
  world: {
    upstreams: [
      { name: 'svc', octet: 30, ports: [8080] },
      // The inbound side: a caller pod, with its own sidecar in the phases that name one.
      { name: 'client', octet: 60, kind: 'client' },
    ],
    dns: { 'app.test': 'svc' },
    appServer: { port: APP_PORT },
    peerSidecar: { host: 'client' },
  },
  phases: [
    {
      name: 'before',
      title: `terminationDrainDuration ${DRAIN_MS / 1000} s, the app works ${APP_SHUTDOWN_MS / 1000} s after SIGTERM: its calls after the sidecar exits are refused`,
      config: 'broken',
      // The refused calls never reach Envoy (it has exited): the app's ECONNREFUSED is the mark.
      signature: { says: "the app's last calls refused after its sidecar drained and exited (pod shutdown)", marks: ['refused'], when: ['sidecarTerminating'] },
      shutdown: { terminationDrainMs: DRAIN_MS, drainDurationMs: DRAIN_DURATION_MS },
      run: podTerminates,
      expect: [
        everyRequest('before the SIGTERM every call was served', { min: 3, before: 'note' }, (r) => isOk(r) && r.servedBy === 'svc'),
        check('trigger: the app was still calling after the sidecar exited', (e) => ({ pass: afterExit(e).length >= 3, evidence: `sidecar exited at ${exitedAt(e)} ms; ${afterExit(e).length} call(s) after it` })),
        // "At once": refused before the app's own connect timeout (1 s) could fire. The latency of a
        // refusal is the machine's load, not the incident's (measured: up to 266 ms in a loaded CI run).
        check('symptom: every call after the sidecar exited was refused at once (ECONNREFUSED, no timeout)', (e) => {
          const after = afterExit(e);
          const slowest = Math.max(...after.map((r) => r.latencyMs));
          return { pass: after.length >= 3 && after.every(isRefused) && slowest < APP_CONNECT_TIMEOUT_MS, evidence: `${after.length} call(s) after the exit: ${[...new Set(after.map((r) => r.error ?? r.status))].join(', ')}, the slowest in ${slowest} ms` };
        }),
        check('mechanism: the interception still sent them to 15001 (nat ISTIO_REDIRECT counted their SYNs)', (e) => {
          const n = e.noteNumber('nat ISTIO_REDIRECT packets after the SIGTERM');
          const refused = afterExit(e).filter(isRefused).length;
          return { pass: refused >= 3 && n >= refused, evidence: `ISTIO_REDIRECT +${n} packets after the SIGTERM; ${refused} refused call(s)` };
        }),
        // Hand-written the lab makes the call and sees the status; pilot-agent (under --istio) does not
        // log the status, only an error when the call fails.
        check("mechanism: pilot-agent's drain (/drain_listeners?inboundonly&graceful) was made, and Envoy then exited with the app's connection still open", (e) => {
          const drain = e.note('sidecar drain');
          const atExit = e.noteNumber('sidecar active connections at exit');
          const made = drain.endsWith('→ 200') || drain.endsWith('(no error in its log)');
          return { pass: made && atExit >= 1, evidence: `${drain}; server.state ${e.note('sidecar server.state after the drain call')}; active connections at exit ${atExit}` };
        }),
      ],
    },
    {
      name: 'before-inbound',
      title: `The inbound side: callers (with their own sidecars) still call the pod ${APP_SHUTDOWN_MS / 1000} s after SIGTERM; once its sidecar exits, 503 UF`,
      config: 'pod-serving',
      inbound: 'REDIRECT',
      peerSidecar: 'caller',
      signature: { none: "the failures are in the callers' sidecars (503 UF to the terminating pod's address); the pod's own log ends with the last call it served" },
      shutdown: { terminationDrainMs: DRAIN_MS, drainDurationMs: DRAIN_DURATION_MS },
      run: podTerminatesWithCallers,
      expect: [
        everyRequest('before the SIGTERM every caller call was served by the pod\'s app', { min: 3, before: 'note' }, (r) => isOk(r)),
        check('trigger: callers kept calling after the pod\'s sidecar exited', (e) => ({ pass: afterExit(e).length >= 3, evidence: `sidecar exited at ${exitedAt(e)} ms; ${afterExit(e).length} call(s) after it` })),
        check('symptom: every caller call after the sidecar exited got 503', (e) => {
          const after = afterExit(e);
          return { pass: after.length >= 3 && after.every((r) => r.status === 503), evidence: `${after.length} call(s) after the exit: ${outcomeCounts(after)}` };
        }),
        // Hand-written, the caller routes to the pod's Service with Istio's default retries: URX,UF (all
        // three attempts refused). Under --istio it dials the pod's address and istiod's route sends
        // that to PassthroughCluster, without retries: UF (measured on both Istios).
        // A caller's call in flight at the kill itself ends 503 UC connection_termination (the pod's
        // Envoy is killed mid-request): measured under pilot-agent, at most one per run.
        check("mechanism: the callers' sidecar: 503 UF, connection refused by the pod's address (with URX where its route retries the same pod)", (e) => {
          const failed = e.peerAccessLog.filter((a) => a.kind === 'http' && a.code === 503);
          const refused = failed.filter((a) => a.flags?.split(',').includes('UF') === true && /Connection_refused|connection_failure/.test(a.details ?? '') && a.up_host === `${e.ip('pod')}:${APP_PORT}`);
          const cutAtKill = failed.filter((a) => a.flags === 'UC' && (a.details ?? '').includes('connection_termination'));
          return { pass: refused.length >= 3 && cutAtKill.length <= 1 && refused.length + cutAtKill.length === failed.length, evidence: describeAccess(failed) };
        }),
        check("mechanism: the pod's interception still sent the callers' connections to 15006 (nat ISTIO_IN_REDIRECT counted them)", (e) => {
          const n = e.noteNumber('nat ISTIO_IN_REDIRECT packets after the SIGTERM');
          return { pass: n >= afterExit(e).length, evidence: `ISTIO_IN_REDIRECT +${n} packets after the SIGTERM; ${afterExit(e).length} call(s) after the exit` };
        }),
      ],
    },
    {
      name: 'fix-inbound-drain-duration',
      title: `The inbound side, terminationDrainDuration ${(APP_SHUTDOWN_MS + 1000) / 1000} s: the sidecar outlives the callers' last call`,
      config: 'pod-serving',
      inbound: 'REDIRECT',
      peerSidecar: 'caller',
      shutdown: { terminationDrainMs: APP_SHUTDOWN_MS + 1000, drainDurationMs: DRAIN_DURATION_MS },
      run: podTerminatesWithCallers,
      expect: [everyRequest('symptom gone: every caller call served', { min: 12 }, isOk), sidecarOutlived('the callers')],
    },
    {
      name: 'fix-drain-duration',
      title: `terminationDrainDuration ${(APP_SHUTDOWN_MS + 1000) / 1000} s, longer than the app's shutdown: every call served`,
      config: 'broken',
      shutdown: { terminationDrainMs: APP_SHUTDOWN_MS + 1000, drainDurationMs: DRAIN_DURATION_MS },
      run: podTerminates,
      expect: [noCallRefused, sidecarOutlived('the app')],
    },
    {
      name: 'fix-sidecar-prestop',
      title: `A preStop hook on the sidecar (${APP_SHUTDOWN_MS / 1000} s): its drain starts after the app's work`,
      config: 'broken',
      shutdown: { preStopMs: APP_SHUTDOWN_MS, terminationDrainMs: DRAIN_MS, drainDurationMs: DRAIN_DURATION_MS },
      run: podTerminates,
      expect: [noCallRefused, sidecarOutlived('the app')],
    },
    {
      name: 'fix-exit-on-zero-active',
      title: 'EXIT_ON_ZERO_ACTIVE_CONNECTIONS (MINIMUM_DRAIN_DURATION 1 s): the sidecar waits until the app has closed its connection',
      config: 'broken',
      shutdown: { terminationDrainMs: DRAIN_MS, exitOnZeroActive: true, minimumDrainMs: DRAIN_MS, drainDurationMs: DRAIN_DURATION_MS },
      run: podTerminates,
      expect: [
        noCallRefused,
        check("fix path: pilot-agent's checks saw the app's connection active, then none, and only then Envoy exited", (e) => {
          const counts = e.noteSeries('sidecar active connections');
          return { pass: counts.length >= 2 && counts.some((n) => n >= 1) && counts[counts.length - 1] === 0, evidence: `active connections at each check: ${counts.join(', ')}` };
        }),
      ],
    },
  ],
});
