/**
 * websocket-upgrade: WebSocket handshakes refused by the sidecar, 403 upgrade_failed; and, once
 * the upgrade is allowed, WebSockets that still fail when the hop to the app speaks HTTP/2.
 *
 * Reported  istio#50980 (403 upgrade_failed), #10114 and #11498 (websockets through the
 *           sidecar), #27078 and #33534 ("websocket over http2 doesn't work"), #29427; envoy#5595;
 *           Envoy FAQ websocket.rst; catalogue §7 (../shared/research/incident-catalogue.md).
 * Symptom   The app's WebSocket client gets 403 Forbidden on the handshake, and the server's logs
 *           show no request; plain HTTP calls to the same service work. After a DestinationRule
 *           turns on HTTP/2 to the service (h2UpgradePolicy: UPGRADE), WebSockets fail again while
 *           plain calls still work.
 * Cause     Envoy allows an Upgrade only where the HTTP connection manager (or the route) lists it
 *           in upgrade_configs; otherwise it answers 403 upgrade_failed itself. Over an HTTP/2
 *           upstream Envoy carries the WebSocket as an extended CONNECT (RFC 8441), which the
 *           server's HTTP/2 side must allow (SETTINGS_ENABLE_CONNECT_PROTOCOL; on an Envoy,
 *           allow_connect).
 * Fixes     upgrade_configs: [{upgrade_type: websocket}] (what istiod renders today on every HCM);
 *           h2UpgradePolicy: DO_NOT_UPGRADE for the WebSocket's host (HTTP/1.1 end to end).
 * Settled   On Envoy 1.40.0 (both backends, both Istios): the refused upgrade is 403 upgrade_failed
 *           with no response flag; over HTTP/2 each WebSocket is 502 UPE protocol_error on the
 *           HTTP/2 connection plain calls use. Today's istiod allows websocket on every HCM: under
 *           --istio the before is an EnvoyFilter that disables it on the route (same 403).
 */
import { accessIn, chatThreeTimes, check, compareVersions, configShapes, counterShapes, defineScenario, describeAccess, distinct, everyAccessEntry, everyRequest, type Lab, meshService, outcomeCounts, serviceRequest, serviceWebSocket, signatureFacts, upstreamCounted } from '../src/index.js';

const chat = serviceWebSocket('/chat', 'WebSocket /chat (3 frames)');
const status = serviceRequest('/status', { label: 'GET /status (a plain call)' });
/** The app serves HTTP/1.1 and HTTP/2 without TLS (h2c) on :8080, as a gRPC-capable framework does. */
const H2C_APP = { svc: { http: { websocket: true, h2c: true } } };

/** What Envoy answers a WebSocket the app's HTTP/2 server resets, by version (measured). */
const h2Refusal = (version: string) =>
  compareVersions(version, '1.37.0') >= 0
    ? { status: 502, flags: 'UPE', details: 'upstream_reset_before_response_started{protocol_error}', sameConnection: true }
    : { status: 503, flags: 'UR', details: 'upstream_reset_before_response_started{remote_reset}', sameConnection: false };

/** A plain call first (it must work, and says which protocol reached the app), then the WebSockets. */
const plainCallThenChats = async (lab: Lab) => {
  await lab.app.send(status);
  await chatThreeTimes(chat)(lab);
};

const everyChatEchoed = everyRequest('symptom gone: 101 Switching Protocols and every frame echoed by the app, every time', { min: 3, where: (r) => r.framesSent !== undefined }, (r) => r.status === 101 && r.framesEchoed === 3);
const appEchoedAll = upstreamCounted('fix path: the app accepted 3 WebSockets and echoed 9 frames', 'svc', (c) => c.websockets === 3 && c.websocketMessages === 9);

export default defineScenario({
  id: 'websocket-upgrade',
  title: 'WebSocket through the sidecar: 403 upgrade_failed without upgrade_configs; failing again over an HTTP/2 hop',
  reported: ['https://github.com/istio/istio/issues/50980', 'https://github.com/istio/istio/issues/27078', 'https://github.com/istio/istio/issues/33534', 'https://github.com/envoyproxy/envoy/issues/5595'],
  symptom: 'WebSocket handshakes get 403 Forbidden from the sidecar (the app never sees them) while plain calls work; with HTTP/2 to the app, WebSockets fail again',
  cause: 'an HCM without upgrade_configs refuses the Upgrade itself (403 upgrade_failed); over an HTTP/2 upstream the WebSocket becomes an extended CONNECT the app does not allow',
  timeScaling: 'none needed: 3 WebSockets of 3 frames per phase',
  responseFlags: {
    UPE: { where: 'before-h2-upgrade: 502 UPE protocol_error, the WebSocket as an extended CONNECT the app\'s HTTP/2 server resets (Envoy ≥ 1.37)' },
    UR: { where: 'before-h2-upgrade on Envoy 1.36: 503 UR remote_reset for the same reset' },
  },
  world: meshService({ websocket: true }),
  phases: [
    {
      name: 'before-no-upgrade',
      title: 'No upgrade_configs on the HCM: every WebSocket handshake gets 403 from Envoy',
      config: 'broken',
      signature: {
        says: 'a WebSocket handshake refused by the HCM itself: no upgrade_configs for websocket (or a filter disabling it on the route)',
        entries: { code: 403, details: /upgrade_failed/, noUpstreamHost: true },
        marks: ['websocketRefused'],
        counters: [counterShapes.counted(/^http\..+\.downstream_rq_ws_on_non_ws_route$/, 'the HCM counted WebSocket upgrades on a route without them (downstream_rq_ws_on_non_ws_route)')],
        config: [configShapes.noWebSocketUpgrade()],
      },
      run: chatThreeTimes(chat),
      expect: [
        everyRequest('symptom: the handshake answered 403 Forbidden, no frame sent, every time', { min: 3 }, (r) => r.status === 403 && r.framesEchoed === 0),
        everyAccessEntry('mechanism: Envoy answered it: 403 upgrade_failed, no upstream chosen', { kind: 'http', min: 3 }, (a) => a.code === 403 && a.details === 'upgrade_failed' && a.up_host === undefined),
        upstreamCounted('the app never saw a handshake', 'svc', (c) => c.websockets === 0 && !c.requests['GET /chat']),
      ],
    },
    {
      name: 'fix-upgrade-configs',
      title: 'upgrade_configs websocket on the HCM (what istiod renders): 101, and frames flow both ways',
      config: 'fix-upgrade-configs',
      run: chatThreeTimes(chat),
      expect: [
        everyChatEchoed,
        everyAccessEntry('fix path: Envoy passed the upgrade to the app: 101 from app', { kind: 'http', min: 3 }, (a) => a.code === 101 && a.up_host !== undefined),
        appEchoedAll,
      ],
    },
    {
      name: 'before-h2-upgrade',
      title: 'HTTP/2 to the app (h2UpgradePolicy: UPGRADE): plain calls work, WebSockets fail again',
      config: 'h2-upgrade',
      signature: {
        says: "some calls to an HTTP/2 cluster reset by the app's HTTP/2 server while plain calls work: WebSockets over h2 (extended CONNECT) to an app that does not allow them",
        entries: { code: [502, 503], details: /protocol_error|remote_reset/ },
        facts: [signatureFacts.othersToTheClusterSucceed()],
        counters: [counterShapes.counted(/^cluster\..+\.http2\.rx_reset$/, 'the HTTP/2 cluster counted streams the app reset (http2.rx_reset)')],
      },
      upstreams: H2C_APP,
      run: plainCallThenChats,
      expect: [
        upstreamCounted('trigger: the hop to the app is HTTP/2 (the plain call reached it as HTTP/2.0)', 'svc', (c) => (c.protocols['2.0'] ?? 0) >= 1 && !c.protocols['1.1']),
        everyRequest('the plain call works', { where: (r) => r.framesSent === undefined }, (r) => r.status === 200 && r.servedBy === 'svc'),
        check('symptom: no WebSocket opens, every time: 502 Bad Gateway (Envoy ≥ 1.37), 503 (1.36)', (e) => {
          const want = h2Refusal(e.envoyVersion);
          const ws = e.timeline.requests().filter((r) => r.framesSent !== undefined);
          return { pass: ws.length >= 3 && ws.every((r) => r.status === want.status && r.framesEchoed === 0), evidence: `${outcomeCounts(ws)} (Envoy ${e.envoyVersion}: ${want.status} expected)` };
        }),
        // Measured: from 1.37.0 (1.37.0, 1.38.2, 1.39.3, 1.40.0) Envoy sends the WebSocket as an
        // extended CONNECT stream on the HTTP/2 connection the plain call used, and the app's
        // HTTP/2 server (no SETTINGS_ENABLE_CONNECT_PROTOCOL) resets it: 502 UPE protocol_error.
        // 1.36.4 opens another connection for it and reports 503 UR remote_reset.
        check('mechanism: the app\'s HTTP/2 server reset each WebSocket stream (Envoy ≥ 1.37: 502 UPE protocol_error on the plain call\'s connection; 1.36: 503 UR remote_reset)', (e) => {
          const want = h2Refusal(e.envoyVersion);
          const http = accessIn(e, {}, 'http');
          const plain = http.find((a) => a.code === 200);
          const ws = http.filter((a) => a !== plain);
          const reset = ws.filter((a) => a.code === want.status && a.flags === want.flags && a.details === want.details && (!want.sameConnection || a.up_cx === plain?.up_cx));
          return { pass: plain !== undefined && ws.length >= 3 && reset.length === ws.length, evidence: `plain call on upstream cx ${plain?.up_cx ?? '(none)'}; WebSockets: ${describeAccess(ws)} on upstream cx ${distinct(ws.map((a) => a.up_cx)).join(', ')}` };
        }),
        upstreamCounted('the app accepted no WebSocket', 'svc', (c) => c.websockets === 0),
      ],
    },
    {
      name: 'fix-do-not-upgrade',
      title: 'h2UpgradePolicy: DO_NOT_UPGRADE for the host: HTTP/1.1 to the app, WebSockets open and frames flow',
      config: 'fix-do-not-upgrade',
      upstreams: H2C_APP,
      run: plainCallThenChats,
      expect: [
        upstreamCounted('fix path: the hop to the app is HTTP/1.1 again', 'svc', (c) => (c.protocols['1.1'] ?? 0) >= 4 && !c.protocols['2.0']),
        everyChatEchoed,
        appEchoedAll,
      ],
    },
  ],
});
