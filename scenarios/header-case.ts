/**
 * header-case: behind the sidecar, a case-sensitive app no longer finds its headers.
 *
 * Reported  seed 001 §6 (../shared/seeds/001_1893f8f80347ef09.txt, Header大小写敏感).
 * Symptom   A caller sends `X-UserId: 12345`; with the mesh on, the app answers 400: it looks for
 *           "X-UserId" and finds only "x-userid". The caller, for its part, gets the app's
 *           `X-Request-Id` response header as `x-request-id`.
 * Cause     Envoy's HTTP/1 codec writes every header name in lower case, in both directions. HTTP
 *           header names are case-insensitive (RFC 7230), but this app does not follow the RFC.
 * Fix       The seed's EnvoyFilter: the preserve_case header formatter on the HCM (responses to
 *           the caller) and on the inbound cluster (requests to the app).
 * HTTP/2    An HTTP/2 caller sends lower-case names (the protocol requires it): no fix applies.
 *           And the seed's fix switches the inbound cluster to the caller's protocol, so an
 *           HTTP/2 caller of an HTTP/1-only app gets 502 UPE with it (measured on Envoy 1.40).
 *
 * The caller is a lab host outside the pod; the app is a server in the pod that requires the
 * header name "X-UserId" exactly and answers with the header names it received.
 */
import { appView, check, configHas, defineScenario, everyAccessEntry, everyRequest, podServingCallers, type Lab, type RequestEntry } from '../src/index.js';

const APP_PORT = 8080;
const CALLS = 3;

/** The caller sends X-UserId (in that case) to the app, over HTTP/1.1 or HTTP/2 (h2c). */
const callWithMixedCaseHeader = (protocol: 'http/1.1' | 'h2c' = 'http/1.1') => async (lab: Lab) => {
  for (let i = 0; i < CALLS; i++) {
    const caller = lab.caller('client');
    await (protocol === 'h2c' ? caller.sendH2 : caller.send).call(caller, { url: `http://${lab.ip('pod')}:${APP_PORT}/profile`, headers: [['X-UserId', '12345']], label: `GET /profile with X-UserId (${protocol})` });
  }
};

const namesTheAppGot = (r: RequestEntry) => appView(r)?.headerNames.join(' ') ?? `(no echo: ${r.status} ${r.body ?? r.error})`;

export default defineScenario({
  id: 'header-case',
  title: 'Header names lowercased by the sidecar: a case-sensitive app misses X-UserId',
  seed: 'a write-up in Chinese of the xDS problems one team met in production (its sections are cited in reported)',
  reported: ['seed 001 §6: Header大小写敏感'],
  symptom: 'the app answers 400 (no X-UserId) though the caller sent it; response headers reach the caller in lower case',
  cause: "Envoy's HTTP/1 codec lowercases header names both ways; the app compares names case-sensitively",
  timeScaling: 'none needed: each call is one request',
  world: podServingCallers({ port: APP_PORT, echo: true, requireHeaderCase: 'X-UserId', responseHeaders: { 'X-Request-Id': 'req-1' } }),
  phases: [
    {
      name: 'before',
      title: 'A plain sidecar: the app gets x-userid and answers 400; the caller gets x-request-id',
      config: 'broken',
      // The 400 is the app's own (via_upstream): the mark is the header names the app received.
      signature: { says: 'header names reach the app in lower case (HTTP/1.1 through Envoy): a case-sensitive app misses its header', marks: ['headersLowercased'] },
      run: callWithMixedCaseHeader(),
      expect: [
        everyRequest('symptom: the app answers 400, its X-UserId missing', { min: CALLS }, (r) => r.status === 400 && /no X-UserId header \(got x-userid\)/.test(appView(r)?.verdict ?? '')),
        check('mechanism: every header name reached the app in lower case', (e) => {
          const rs = e.timeline.requests();
          const names = rs.flatMap((r) => appView(r)?.headerNames ?? []);
          return { pass: rs.length >= CALLS && names.includes('x-userid') && names.every((n) => n === n.toLowerCase()), evidence: `the app got: ${[...new Set(rs.map(namesTheAppGot))].join(' | ')}` };
        }),
        everyRequest('symptom, the other way: the caller gets the response header as x-request-id', { min: CALLS }, (r) => r.responseHeaderNames?.includes('x-request-id') === true && !r.responseHeaderNames.includes('X-Request-Id')),
        everyAccessEntry('mechanism: Envoy carried the calls to the app (the 400 is the app\'s own)', { kind: 'http', min: CALLS }, (a) => a.code === 400 && a.up_cluster === 'inbound|8080||' && a.details === 'via_upstream'),
      ],
    },
    {
      name: 'fix-preserve-case',
      title: 'EnvoyFilter preserve_case on the HCM and the inbound cluster: names keep their case both ways',
      config: 'fix-preserve-case',
      run: callWithMixedCaseHeader(),
      expect: [
        everyRequest('symptom gone: the app finds X-UserId and answers 200', { min: CALLS }, (r) => r.status === 200 && appView(r)?.headerNames.includes('X-UserId') === true),
        everyRequest('symptom gone, the other way: the caller gets X-Request-Id in the app\'s case', { min: CALLS }, (r) => r.responseHeaderNames?.includes('X-Request-Id') === true),
        configHas('fix path: the preserve_case formatter was in force', 'envoy.extensions.http.header_formatters.preserve_case.v3.PreserveCaseFormatterConfig', 'HCM and cluster inbound|8080||'),
        everyAccessEntry('fix path: Envoy carried the calls (200 from the app)', { kind: 'http', min: CALLS }, (a) => a.code === 200 && a.up_cluster === 'inbound|8080||'),
      ],
    },
    {
      // HTTP/2 requires lower-case header names on the wire (RFC 9113 §8.2.2): a caller speaking
      // HTTP/2 never sends "X-UserId", so no sidecar setting can hand it to the app in that case.
      name: 'control-h2-caller',
      title: 'A caller speaking HTTP/2 (h2c): names are lower-case on the wire, the app gets x-userid whatever the sidecar does',
      config: 'broken',
      run: callWithMixedCaseHeader('h2c'),
      expect: [
        everyRequest('the app answers 400: it got x-userid', { min: CALLS }, (r) => r.status === 400 && appView(r)?.headerNames.includes('x-userid') === true),
        everyAccessEntry('Envoy carried the HTTP/2 calls to the app over HTTP/1.1 (explicit_http_config)', { kind: 'http', min: CALLS }, (a) => a.code === 400 && a.up_cluster === 'inbound|8080||' && a.details === 'via_upstream'),
      ],
    },
    {
      // What real Envoy does (measured on 1.40): the seed's EnvoyFilter replaces the inbound
      // cluster's explicit HTTP/1.1 with use_downstream_protocol_config. An HTTP/2 caller then
      // makes Envoy speak HTTP/2 to the app, which only speaks HTTP/1.1: 502 UPE protocol_error.
      name: 'control-h2-caller-with-fix',
      title: "The seed's fix has a side effect: an HTTP/2 caller now reaches the HTTP/1-only app over HTTP/2: 502 UPE",
      config: 'fix-preserve-case',
      run: callWithMixedCaseHeader('h2c'),
      expect: [
        everyRequest('every HTTP/2 call fails with 502', { min: CALLS }, (r) => r.status === 502),
        everyAccessEntry('mechanism: 502 UPE protocol_error from the inbound cluster (HTTP/2 spoken to an HTTP/1 server)', { kind: 'http', min: CALLS }, (a) => a.code === 502 && a.flags === 'UPE' && /protocol_error/.test(a.details ?? '') && a.up_cluster === 'inbound|8080||'),
        configHas('the fix was in force: the inbound cluster follows the downstream protocol', 'use_downstream_protocol_config', 'cluster inbound|8080||'),
      ],
    },
  ],
});
