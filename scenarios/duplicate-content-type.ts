/**
 * duplicate-content-type: two Content-Type lines become one, and a strict app answers 415.
 *
 * Reported  seed 001 §7 (../shared/seeds/001_1893f8f80347ef09.txt, 重复Header处理).
 * Symptom   A caller sends a request with two Content-Type lines. Without the mesh the app (the
 *           seed's Spring MVC) takes the first and answers; with the mesh on it answers
 *           415 Unsupported Media Type.
 * Cause     Envoy keeps one Content-Type header and joins repeated values with a comma
 *           ("application/json,text/plain"), which the app cannot parse as one media type.
 * Fix       The seed's EnvoyFilter: a Lua filter before the router keeps the first value.
 * Control   Without the sidecar (no inbound capture), the app gets both lines and uses the first.
 */
import { appView, configHas, defineScenario, everyAccessEntry, everyRequest, noAccessEntries, podServingCallers, type Lab, type RequestEntry } from '../src/index.js';

const APP_PORT = 8080;
const CALLS = 3;

async function postWithTwoContentTypes(lab: Lab) {
  for (let i = 0; i < CALLS; i++) {
    await lab.caller('client').send({
      url: `http://${lab.ip('pod')}:${APP_PORT}/orders`,
      method: 'POST',
      headers: [['Content-Type', 'application/json'], ['Content-Type', 'text/plain']],
      body: '{"item": 1}',
      label: 'POST /orders with two Content-Type lines',
    });
  }
}

const contentTypesOf = (r: RequestEntry) => JSON.stringify(appView(r)?.contentTypes ?? `(no echo: ${r.status})`);

export default defineScenario({
  id: 'duplicate-content-type',
  title: 'Two Content-Type headers joined with a comma by the sidecar: a strict app answers 415',
  seed: 'a write-up in Chinese of the xDS problems one team met in production (its sections are cited in reported)',
  reported: ['seed 001 §7: 重复Header处理'],
  symptom: '415 Unsupported Media Type from the app for requests that carry two Content-Type lines',
  cause: 'Envoy joins repeated Content-Type values into one line with a comma; the strict app cannot parse it',
  timeScaling: 'none needed: each call is one request',
  world: podServingCallers({ port: APP_PORT, echo: true, strictContentType: true }),
  phases: [
    {
      name: 'before',
      title: 'A plain sidecar: the app gets "application/json,text/plain" and answers 415',
      config: 'broken',
      // The 415 is the app's own (via_upstream): the mark is the one joined Content-Type the app received.
      signature: { says: 'two Content-Type lines reach the app as one, joined by a comma', marks: ['contentTypeJoined'] },
      run: postWithTwoContentTypes,
      expect: [
        everyRequest('symptom: 415 Unsupported Media Type from the app', { min: CALLS }, (r) => r.status === 415),
        everyRequest('mechanism: the app got ONE Content-Type line, the two values joined with a comma', { min: CALLS }, (r) => contentTypesOf(r) === JSON.stringify(['application/json,text/plain'])),
        everyAccessEntry("mechanism: Envoy passed the request on; the 415 is the app's", { kind: 'http', min: CALLS }, (a) => a.code === 415 && a.up_cluster === 'inbound|8080||' && a.details === 'via_upstream'),
      ],
    },
    {
      name: 'fix-lua-first',
      title: "The seed's Lua filter keeps the first Content-Type value: the app answers 200",
      config: 'fix-lua-first',
      run: postWithTwoContentTypes,
      expect: [
        everyRequest('symptom gone: the app answers 200', { min: CALLS }, (r) => r.status === 200),
        everyRequest('fix path: the app got one Content-Type line, the first value only', { min: CALLS }, (r) => contentTypesOf(r) === JSON.stringify(['application/json'])),
        configHas('fix path: the Lua filter was in force on the inbound HCM', 'type_table[1]', 'virtualInbound 0.0.0.0_8080 http_filters'),
      ],
    },
    {
      name: 'control-no-sidecar',
      title: 'Control, without the sidecar in the path: the app gets both lines, takes the first and answers 200',
      config: 'broken',
      inbound: 'off',
      run: postWithTwoContentTypes,
      expect: [
        everyRequest('the app answers 200', { min: CALLS }, (r) => r.status === 200),
        everyRequest('the app got both Content-Type lines, as sent', { min: CALLS }, (r) => contentTypesOf(r) === JSON.stringify(['application/json', 'text/plain'])),
        noAccessEntries('Envoy was not in the path (no access-log entry)'),
      ],
    },
  ],
});
