/**
 * header-limits: 431 for a big cookie or one header too many, 502 for a big Set-Cookie, all from
 * Envoy, never from the app.
 *
 * Reported  istio#33622 / #33623 (max_headers_count), #50098 (a big cookie over HTTP/2), #53812,
 *           #56332 (large response headers, where to set the limit); envoy#34231, PR#5859;
 *           catalogue §8 (../shared/research/incident-catalogue.md).
 * Symptom   Users with a large cookie (or a JWT) get 431 Request Header Fields Too Large; a client
 *           that sends many headers gets 431; a page whose app sets a large cookie gets 502. The
 *           app's logs show none of these requests.
 * Cause     Envoy's header limits: a request header block over the HCM's max_request_headers_kb
 *           (default 60 KiB), more than max_headers_count headers (default 100), a response
 *           header block over the cluster's limit (max_response_headers_kb; 80 KiB by default).
 * Fixes     max_request_headers_kb and max_headers_count on the HCM (EnvoyFilter), the
 *           response-side limit on the cluster; or smaller cookies. The app behind must take
 *           what Envoy then lets through (Node's own limit is 16 KiB: the service is given 128).
 * Settled   Defaults and caps, measured on Envoy 1.36.4 and 1.40.0: a 59 KiB cookie passes and a
 *           60 KiB one gets 431 (request block 60 KiB); a 79 KiB Set-Cookie passes and an 80 KiB
 *           one gets 502 (response block 80 KiB, not 60); 100 headers; envoy --mode validate
 *           accepts max_request_headers_kb up to 8192 (PR#5859's cap was 96).
 */
import { configShapes, counterShapes, defineScenario, everyAccessEntry, everyRequest, isOk, meshService, sendThreeTimes, serviceRequest, signatureFacts, upstreamCounted } from '../src/index.js';

const COOKIE_KB = 70;
const HEADERS = 101;
/** The app's Set-Cookie: over the response-side default, which is 80 KiB, not the request side's 60 (measured). */
const SET_COOKIE_KB = 90;
const cookie = `session=${'c'.repeat(COOKIE_KB * 1024)}`;
const setCookie = `session=${'c'.repeat(SET_COOKIE_KB * 1024)}`;
const manyHeaders: Array<[string, string]> = Array.from({ length: HEADERS }, (_, i) => [`x-trace-${i + 1}`, String(i + 1)]);

const bigCookie = serviceRequest('/profile', { headers: [['cookie', cookie]], label: `GET /profile with a ${COOKIE_KB} KiB cookie` });
const tooMany = serviceRequest('/profile', { headers: manyHeaders, label: `GET /profile with ${HEADERS} extra headers` });
const plain = serviceRequest('/profile', { label: `GET /profile (the app sets a ${SET_COOKIE_KB} KiB cookie)` });

const appSawNothing = upstreamCounted('the app never saw them: Envoy answered before forwarding', 'svc', (c) => !c.requests['GET /profile']);
const appServedAll = upstreamCounted('fix path: the app received all 3 and answered them', 'svc', (c) => c.requests['GET /profile'] === 3);
/** Envoy's own answer, before it chose any upstream. */
const envoySaid = (code: number, details: string, flags: string, label: string) =>
  everyAccessEntry(label, { kind: 'http', min: 3 }, (a) => a.code === code && a.details === details && a.flags === flags && a.up_host === undefined);

export default defineScenario({
  id: 'header-limits',
  title: "Envoy's header limits: 431 for a 70 KiB cookie or a 101st header, 502 for a 90 KiB Set-Cookie",
  reported: ['https://github.com/istio/istio/issues/33622', 'https://github.com/istio/istio/issues/50098', 'https://github.com/istio/istio/issues/53812', 'https://github.com/envoyproxy/envoy/issues/34231'],
  symptom: '431 Request Header Fields Too Large for a big cookie or too many headers, 502 for a big response header, none of it in the app\'s logs',
  cause: "the HCM's max_request_headers_kb (60 KiB) and max_headers_count (100), the cluster's response header limit (80 KiB)",
  timeScaling: 'none needed: 3 requests per phase',
  responseFlags: {
    DPE: { where: 'before-big-cookie, before-many-headers: 431 DPE http1.headers_too_large / http1.too_many_headers' },
    UPE: { where: 'before-big-response-header: 502 UPE from a 90 KiB Set-Cookie (the response-side default is 80 KiB)' },
  },
  world: meshService({ maxHeaderKb: 128 }),
  phases: [
    {
      name: 'before-big-cookie',
      title: `A ${COOKIE_KB} KiB cookie: 431 from Envoy (http1.headers_too_large), the app never sees it`,
      config: 'broken',
      signature: {
        says: "a request header block over the HCM's max_request_headers_kb (60 KiB)",
        entries: { code: 431, flags: 'DPE', details: /headers_too_large/ },
        marks: ['headerLimit'],
        counters: [counterShapes.counted(/^http\..+\.downstream_cx_protocol_error$/, 'the HCM counted downstream protocol errors (the header block refused by the codec)')],
        config: [configShapes.requestHeadersCapped()],
      },
      run: sendThreeTimes(bigCookie),
      expect: [
        everyRequest('symptom: 431 Request Header Fields Too Large, every time', { min: 3 }, (r) => r.status === 431),
        envoySaid(431, 'http1.headers_too_large', 'DPE', 'mechanism: Envoy answered it: 431 DPE http1.headers_too_large, no upstream'),
        appSawNothing,
      ],
    },
    {
      name: 'before-many-headers',
      title: `${HEADERS} extra headers: 431 from Envoy (http1.too_many_headers)`,
      config: 'broken',
      signature: {
        says: "more request headers than the HCM's max_headers_count (100)",
        entries: { code: 431, flags: 'DPE', details: /too_many_headers/ },
        marks: ['headerLimit'],
        counters: [counterShapes.counted(/^http\..+\.downstream_cx_protocol_error$/, 'the HCM counted downstream protocol errors (the header count refused by the codec)')],
        config: [configShapes.requestHeaderCountCapped()],
      },
      run: sendThreeTimes(tooMany),
      expect: [
        everyRequest('symptom: 431, every time', { min: 3 }, (r) => r.status === 431),
        envoySaid(431, 'http1.too_many_headers', 'DPE', 'mechanism: Envoy answered it: 431 DPE http1.too_many_headers, no upstream'),
        appSawNothing,
      ],
    },
    {
      name: 'before-big-response-header',
      title: `The app answers with a ${SET_COOKIE_KB} KiB Set-Cookie: 502 UPE from Envoy, the app did answer`,
      config: 'broken',
      signature: {
        says: "a response header block over the cluster's limit (80 KiB): Envoy cannot read the app's answer (the log alone cannot tell it from a protocol mismatch)",
        entries: { code: 502, flags: 'UPE', details: /protocol_error/ },
        since: '1.18.0',
        alsoAs: [{ by: 'Envoy ≤ 1.17', until: '1.17.99', entries: { code: 503, flags: 'UC', details: /connection_termination/ }, source: "Envoy's history: envoy#15033 (1.18) made a response over the header limits a protocol error (502 UPE); before, the connection was closed (503 UC)" }],
        marks: ['headerLimit', 'upstreamProtocolError'],
        facts: [signatureFacts.noCallToTheClusterSucceeds()],
        counters: [counterShapes.counted(/^cluster\..+\.upstream_cx_protocol_error$/, 'the cluster counted upstream protocol errors (the response header block refused by the codec)')],
      },
      upstreams: { svc: { http: { responseHeaders: { 'Set-Cookie': setCookie } } } },
      run: sendThreeTimes(plain),
      expect: [
        upstreamCounted(`trigger: the app received all 3 and answered them (with its ${SET_COOKIE_KB} KiB Set-Cookie)`, 'svc', (c) => c.requests['GET /profile'] === 3),
        everyRequest('symptom: 502, every time, although the app answered 200', { min: 3 }, (r) => r.status === 502),
        everyAccessEntry('mechanism: Envoy refused the response: 502 UPE upstream_reset_before_response_started{protocol_error}', { kind: 'http', min: 3 }, (a) => a.code === 502 && a.flags === 'UPE' && /protocol_error/.test(a.details ?? '')),
      ],
    },
    {
      name: 'fix-max-request-headers-kb',
      title: `max_request_headers_kb 96: the ${COOKIE_KB} KiB cookie reaches the app`,
      config: 'fix-max-request-headers-kb',
      run: sendThreeTimes(bigCookie),
      expect: [everyRequest('symptom gone: 200 from the app, every time', { min: 3 }, (r) => isOk(r) && r.servedBy === 'svc'), appServedAll],
    },
    {
      name: 'fix-max-headers-count',
      title: `max_headers_count 200: the ${HEADERS} headers reach the app`,
      config: 'fix-max-headers-count',
      run: sendThreeTimes(tooMany),
      expect: [everyRequest('symptom gone: 200 from the app, every time', { min: 3 }, (r) => isOk(r) && r.servedBy === 'svc'), appServedAll],
    },
    {
      name: 'fix-max-response-headers-kb',
      title: `max_response_headers_kb 96 on the cluster: the ${SET_COOKIE_KB} KiB Set-Cookie reaches the app's caller`,
      config: 'fix-max-response-headers-kb',
      upstreams: { svc: { http: { responseHeaders: { 'Set-Cookie': setCookie } } } },
      run: sendThreeTimes(plain),
      expect: [
        everyRequest('symptom gone: 200 with the Set-Cookie, every time', { min: 3 }, (r) => isOk(r) && r.servedBy === 'svc' && (r.responseHeaderNames ?? []).map((h) => h.toLowerCase()).includes('set-cookie')),
        appServedAll,
      ],
    },
  ],
});
