/**
 * config-push-drains-connections: an unrelated config change closes the pod's long-lived
 * connections, drainDuration after the push.
 *
 * Reported  istio#48077 (an AuthorizationPolicy edit closes WebSockets), #53539 (a mesh-config
 *           change), #16607 (an upgrade that changed a listener field), #19664, #33613;
 *           envoy#35259, #8564; catalogue §9 (../shared/research/incident-catalogue.md).
 * Symptom   WebSocket, gRPC-stream or database connections into a pod all close together, about
 *           45 s after somebody changed something that has nothing to do with them.
 * Cause     Envoy cannot move an open connection to a new filter chain: when a push changes the
 *           chain a connection is on, Envoy builds a new chain, drains the old one for
 *           --drain-time-s (Istio's drainDuration, 45 s) and then closes what is still on it.
 *           An RBAC filter added by an AuthorizationPolicy edit changes the inbound HTTP chain.
 *           A new port changes virtualInbound itself under Istio (the ports http_inspector skips
 *           are a listener field): the whole listener drains, every connection into the pod.
 * Fixes     Keep unrelated changes out of the pod's listeners: scope the policy to the workload it
 *           is for (workloadSelector), Sidecar scoping for outbound config. Controls: a new chain
 *           alone, or a change to another listener, leaves the open connection alone.
 * Time      drainDuration 45 s → the lab's --drain-time-s 2.
 */
import { check, type Check, counterShapes, defineScenario, everyAccessEntry, type Lab, variantPath } from '../src/index.js';

const APP_PORT = 8080;
const DRAIN_MS = 2000; // the lab's --drain-time-s
const HOLD_MS = 6000;
const PUSH_AFTER_MS = 1000;
const SCENARIO = 'config-push-drains-connections';

/** A caller's WebSocket into the pod, used every 250 ms, kept 6 s; 1 s in, the variant is pushed. */
const holdThenPush = (variant: string, what: string) => async (lab: Lab) => {
  const ws = lab.caller('client').holdWebSocket({ url: `ws://${lab.ip('pod')}:${APP_PORT}/live`, durationMs: HOLD_MS, everyMs: 250, label: 'WebSocket /live (a caller)' });
  // A push with no Istio form is N/A under --istio: the lab is then torn down under the open WebSocket.
  ws.catch(() => undefined);
  await lab.sleep(PUSH_AFTER_MS);
  await lab.push.variant(variantPath(SCENARIO, variant), what);
  lab.note('filter chains draining', await lab.sidecar.stat('listener_manager.total_filter_chains_draining'));
  lab.note('listeners draining', await lab.sidecar.stat('listener_manager.total_listeners_draining'));
  await ws;
  // The lab reads a DC entry ending within 50 ms of the app's stop as the stop's doing (src/checks/slices.ts).
  await lab.sleep(200);
};

const theWebSocket = (e: Parameters<Parameters<typeof check>[1]>[0]) => e.timeline.requests().find((r) => r.op?.startsWith('WebSocket'));

/** The WebSocket was cut by the sidecar (no close frame) when the drain ended, --drain-time-s after the push. */
const closedAtTheDrainEnd: Check = check(`symptom: the open WebSocket was closed by the sidecar about ${DRAIN_MS / 1000} s after the push, no close frame`, (e) => {
  const ws = theWebSocket(e);
  const pushT = e.markerAt('config') - e.timeline.startedAt;
  const closedAt = ws ? ws.t + ws.latencyMs : NaN;
  const afterPush = closedAt - pushT;
  return { pass: ws?.status === 101 && ws.closedBy === 'fin' && Math.abs(afterPush - DRAIN_MS) <= 500, evidence: ws ? `${ws.status}, ${ws.errorMessage ?? ws.closedBy}, ${Math.round(afterPush)} ms after the push (${ws.closedAfterMs} ms after it opened), ${ws.framesEchoed}/${ws.framesSent} frames echoed` : 'no WebSocket' };
});

/** The WebSocket stayed open for its whole time, frames echoed all along: the push did not touch it. */
const keptOpen: Check = check(`the open WebSocket lived its whole ${HOLD_MS / 1000} s through the push, every frame echoed`, (e) => {
  const ws = theWebSocket(e);
  return { pass: ws?.status === 101 && ws.closedBy === 'still-open' && (ws.framesEchoed ?? 0) >= (ws.framesSent ?? 1) - 1, evidence: ws ? `${ws.status}, ${ws.closedBy} after ${ws.closedAfterMs} ms, ${ws.framesEchoed}/${ws.framesSent} frames echoed` : 'no WebSocket' };
});

const noChainDraining: Check = check('mechanism: no filter chain and no listener was draining after the push', (e) => {
  const chains = Number(e.note('filter chains draining'));
  const listeners = Number(e.note('listeners draining'));
  return { pass: chains === 0 && listeners === 0, evidence: `listener_manager.total_filter_chains_draining ${chains}, total_listeners_draining ${listeners}` };
});

export default defineScenario({
  id: SCENARIO,
  title: 'An AuthorizationPolicy edit closes every open WebSocket into the pod, drainDuration after the push',
  reported: ['https://github.com/istio/istio/issues/48077', 'https://github.com/istio/istio/issues/53539', 'https://github.com/istio/istio/issues/19664', 'https://github.com/envoyproxy/envoy/issues/35259'],
  symptom: 'long-lived connections into a pod all close together, drainDuration (45 s) after an unrelated config change',
  cause: 'a push that changes the filter chain a connection is on makes Envoy drain the old chain and close its connections at the end of the drain',
  timeScaling: "Istio's drainDuration 45 s → --drain-time-s 2",
  responseFlags: {
    DC: { where: 'before: the WebSocket\'s 101 ends DC downstream_local_disconnect(filter_chain_is_being_removed), the drain time after the push' },
  },
  world: {
    upstreams: [{ name: 'client', octet: 60, kind: 'client' }],
    dns: {},
    appServer: { port: APP_PORT, websocket: true },
    inbound: 'REDIRECT',
  },
  phases: [
    {
      name: 'before',
      title: `An AuthorizationPolicy edit (a DENY for /admin) pushed while a caller's WebSocket is open: closed ${DRAIN_MS / 1000} s later`,
      config: 'broken',
      signature: {
        says: 'long-lived connections closed by Envoy at the end of a filter-chain drain: a config push changed the chain they were on',
        entries: { flags: 'DC', details: /filter_chain_is_being_removed|purging_socket_that_have_not_progressed_to_connections/ },
        counters: [counterShapes.counted(/^listener_manager\.listener_modified$/, 'a config push modified a listener (listener_manager.listener_modified)')],
      },
      run: holdThenPush('push-authz-edit', 'AuthorizationPolicy deny-admin edited'),
      expect: [
        closedAtTheDrainEnd,
        check('trigger: the push changed the inbound HTTP chain of 8080 (an RBAC filter in it)', (e) => {
          const n = Number(e.note('filter chains draining'));
          return { pass: n >= 1, evidence: `listener_manager.total_filter_chains_draining ${n} after the push` };
        }),
        // Measured on 1.40.0, as a user quoted it from production: 101 DC downstream_local_disconnect(filter_chain_is_being_removed).
        everyAccessEntry("mechanism: Envoy's access log ends the WebSocket's 101 with the drain's own words: DC filter_chain_is_being_removed", { kind: 'http', min: 1 }, (a) => a.code === 101 && a.flags === 'DC' && /filter_chain_is_being_removed/.test(a.details ?? '')),
      ],
    },
    {
      name: 'before-new-port',
      title: 'A new port on the pod pushed: istiod changes a field of virtualInbound itself, the whole listener drains, the WebSocket with it',
      config: 'broken',
      run: holdThenPush('push-new-port', 'port 9090 added to the pod\'s service'),
      expect: [
        closedAtTheDrainEnd,
        check("trigger: the push replaced the listener itself (9090 added to http_inspector's disabled ports): a listener draining", (e) => {
          const n = Number(e.note('listeners draining'));
          return { pass: n >= 1, evidence: `listener_manager.total_listeners_draining ${n} after the push` };
        }),
        // Measured on 1.40.0: a connection on a removed listener ends with Envoy's own words for it.
        everyAccessEntry("mechanism: Envoy's access log ends the WebSocket's 101 when the listener's drain ends: DC purging_socket_that_have_not_progressed_to_connections", { kind: 'http', min: 1 }, (a) => a.code === 101 && a.flags === 'DC' && /purging_socket_that_have_not_progressed_to_connections/.test(a.details ?? '')),
      ],
    },
    {
      name: 'control-new-chain-only',
      title: 'A new chain on the same listener and nothing else changed: Envoy adds it in place, the open WebSocket stays',
      config: 'broken',
      run: holdThenPush('push-new-chain-only', 'a chain for 9090 added, the listener left as it was'),
      expect: [keptOpen, noChainDraining],
    },
    {
      name: 'control-other-listener',
      title: 'A new external service (another listener) pushed: the open WebSocket stays',
      config: 'broken',
      run: holdThenPush('push-other-listener', 'ServiceEntry api.partner.test added'),
      expect: [keptOpen, noChainDraining],
    },
    {
      name: 'fix-policy-scoped',
      title: 'The policy scoped to the workload it is for: the pod gets the same listener, the open WebSocket stays',
      config: 'broken',
      run: holdThenPush('push-scoped-elsewhere', 'AuthorizationPolicy deny-admin, selector app: admin'),
      expect: [keptOpen, noChainDraining],
    },
  ],
});
