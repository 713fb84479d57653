/**
 * body-limits: a filter that reads whole bodies makes Envoy buffer them: 413 for a 2 MiB upload,
 * 500 for a 2 MiB download, both from Envoy.
 *
 * Reported  istio#55358 (413 request_payload_too_large from the sidecar), #15260 and #13719 (500
 *           for large responses through a buffering filter), #4271; envoy#2919, #16395; Envoy FAQ
 *           "Why is Envoy sending 413s?"; catalogue §14 (../shared/research/incident-catalogue.md).
 * Symptom   Uploads over 1 MiB get 413 Payload Too Large and the app never logs them; large
 *           downloads get 500 although the app answered 200. Small requests work.
 * Cause     A filter that needs the whole body (Lua body(), the buffer filter, ext_authz with
 *           with_request_body, some Wasm) makes Envoy buffer it, up to the listener's
 *           per_connection_buffer_limit_bytes (1 MiB by default). Over it: 413 before the
 *           upstream, 500 once the upstream's response overflows.
 * Fixes     per_connection_buffer_limit_bytes raised on the listener (EnvoyFilter), or no
 *           buffering: a filter that reads headers only streams bodies of any size.
 * Settled   On Envoy 1.40.0 the listener's limit governs both directions: the same limit on the
 *           cluster alone leaves both the 413 and the 500 (measured). Neither answer carries a
 *           response flag: the access log says "-" and only the details name the limit.
 */
import { counterShapes, defineScenario, everyAccessEntry, everyRequest, isOk, meshService, sendThreeTimes, serviceRequest, upstreamCounted } from '../src/index.js';

const MIB2 = 2 * 1024 * 1024;
const upload = serviceRequest('/upload', { method: 'POST', headers: [['content-type', 'application/octet-stream']], body: 'u'.repeat(MIB2), label: 'POST /upload (2 MiB)' });
const download = serviceRequest('/report', { label: 'GET /report (the app answers 2 MiB)' });
const BIG_RESPONSE = { svc: { http: { bodyKb: 2048 } } };

export default defineScenario({
  id: 'body-limits',
  title: 'A body-reading filter: 413 for a 2 MiB upload, 500 for a 2 MiB download, from Envoy',
  reported: ['https://github.com/istio/istio/issues/55358', 'https://github.com/istio/istio/issues/15260', 'https://github.com/istio/istio/issues/13719', 'https://github.com/envoyproxy/envoy/issues/2919'],
  symptom: '413 Payload Too Large for uploads over 1 MiB, none in the app\'s logs; 500 for large downloads the app answered 200',
  cause: "a filter that reads whole bodies makes Envoy buffer them, up to the listener's per_connection_buffer_limit_bytes (1 MiB)",
  timeScaling: 'none needed: 3 requests per phase',
  world: meshService(),
  phases: [
    {
      name: 'before-upload',
      title: 'A 2 MiB POST through the body-reading filter: 413 from Envoy, the app never sees it',
      config: 'broken',
      signature: {
        says: "a body-reading filter buffered a request over per_connection_buffer_limit_bytes (1 MiB): Envoy answered 413",
        entries: { code: 413, details: /request_payload_too_large/ },
        counters: [counterShapes.counted(/^http\..+\.downstream_rq_too_large$/, 'the HCM counted requests too large to buffer (downstream_rq_too_large, the 413s)')],
      },
      run: sendThreeTimes(upload),
      expect: [
        everyRequest('symptom: 413 Payload Too Large, every time', { min: 3 }, (r) => r.status === 413),
        // No response flag: Envoy logs "-"; the details name the limit (measured on 1.40.0).
        everyAccessEntry('mechanism: Envoy answered it: 413 request_payload_too_large, no upstream', { kind: 'http', min: 3 }, (a) => a.code === 413 && a.details === 'request_payload_too_large' && a.up_host === undefined),
        upstreamCounted('the app never saw them', 'svc', (c) => !c.requests['POST /upload']),
      ],
    },
    {
      name: 'before-download',
      title: 'The app answers 2 MiB through the body-reading filter: 500 from Envoy, the app did answer',
      config: 'broken',
      signature: {
        says: 'a body-reading filter buffered a response over per_connection_buffer_limit_bytes (1 MiB): Envoy answered 500',
        entries: { code: 500, details: /response_payload_too_large/ },
        marks: ['responseTooLarge'],
        counters: [counterShapes.counted(/^http\..+\.rs_too_large$/, 'the HCM counted responses too large to buffer (rs_too_large, the 500s)')],
      },
      upstreams: BIG_RESPONSE,
      run: sendThreeTimes(download),
      expect: [
        upstreamCounted('trigger: the app received all 3 and answered them (2 MiB each)', 'svc', (c) => c.requests['GET /report'] === 3),
        everyRequest('symptom: 500, every time, although the app answered 200', { min: 3 }, (r) => r.status === 500),
        everyAccessEntry('mechanism: Envoy gave up buffering the response: 500 response_payload_too_large', { kind: 'http', min: 3 }, (a) => a.code === 500 && a.details === 'response_payload_too_large'),
      ],
    },
    {
      name: 'fix-buffer-limit-upload',
      title: 'per_connection_buffer_limit_bytes 4 MiB on the listener: the 2 MiB POST reaches the app',
      config: 'fix-buffer-limit',
      run: sendThreeTimes(upload),
      expect: [
        everyRequest('symptom gone: 200 from the app, every time', { min: 3 }, (r) => isOk(r) && r.servedBy === 'svc'),
        upstreamCounted('fix path: the app received all 3', 'svc', (c) => c.requests['POST /upload'] === 3),
      ],
    },
    {
      name: 'fix-buffer-limit-download',
      title: 'per_connection_buffer_limit_bytes 4 MiB on the listener: the 2 MiB answer reaches the caller',
      config: 'fix-buffer-limit',
      upstreams: BIG_RESPONSE,
      run: sendThreeTimes(download),
      expect: [everyRequest('symptom gone: 200 with the whole 2 MiB body, every time', { min: 3 }, (r) => isOk(r) && r.servedBy === 'svc' && r.bodyBytes === MIB2)],
    },
    {
      name: 'fix-no-buffering',
      title: 'No body-reading filter: Envoy streams the 2 MiB POST to the app',
      config: 'fix-no-buffering',
      run: sendThreeTimes(upload),
      expect: [
        everyRequest('symptom gone: 200 from the app, every time', { min: 3 }, (r) => isOk(r) && r.servedBy === 'svc'),
        upstreamCounted('fix path: the app received all 3', 'svc', (c) => c.requests['POST /upload'] === 3),
      ],
    },
  ],
});
