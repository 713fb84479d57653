/**
 * app-bound-to-localhost: after the upgrade to Istio 1.10, an app that listens on 127.0.0.1 only
 * gets 503 for every caller, while `curl localhost` inside the pod works.
 *
 * Reported  istio.io blog "Upcoming networking changes in Istio 1.10" (2021-04-15) and the 1.10
 *           upgrade notes; istio#48267, #51267, #22241; analyzer IST0143 (LocalhostListener);
 *           catalogue §16 (../shared/research/incident-catalogue.md).
 * Symptom   Every call to the pod gets 503 UF from its sidecar (connection refused); inside the
 *           pod the app answers on localhost; the app's logs show no request.
 * Cause     Since 1.10 the sidecar's inbound cluster forwards to the pod's own IP (the caller's
 *           original destination), not to 127.0.0.1. An app bound to 127.0.0.1 only is not
 *           listening there.
 * Fixes     Listen on 0.0.0.0 (or the pod IP); a Sidecar ingress with defaultEndpoint
 *           127.0.0.1:<port>. Control: the pre-1.10 inbound cluster (127.0.0.1) hides it.
 */
import { check, counterShapes, defineScenario, describeAccess, everyAccessEntry, everyRequest, isOk, type Lab, podServingCallers, signatureFacts } from '../src/index.js';

const APP_PORT = 8080;
const CALLS = 5;

/** The caller calls the app on the pod's address; then, inside the pod, the app is called on localhost. */
async function callTheAppThenLocalhost(lab: Lab) {
  await lab.hosts.snapshotConnections(SOCKETS);
  for (let i = 0; i < CALLS; i++) await lab.caller('client').send({ url: `http://${lab.ip('pod')}:${APP_PORT}/orders`, headers: [], label: 'GET /orders (caller → pod IP)' });
  await lab.app.send({ url: `http://127.0.0.1:${APP_PORT}/orders`, headers: [], label: 'GET /orders (curl localhost, inside the pod)' });
}

const SOCKETS = 'sockets in the pod';
/** The app's listening socket in the pod's `ss` table: the address it is bound to. */
const listensOn = (address: string, label: string) =>
  check(label, (e) => {
    const listening = e.snapshot(SOCKETS).split('\n').filter((l) => l.startsWith('LISTEN') && l.includes(`:${APP_PORT} `));
    return { pass: listening.some((l) => l.includes(`${address}:${APP_PORT} `)), evidence: listening.map((l) => l.replace(/\s+/g, ' ').trim()).join('; ') || `nothing listens on :${APP_PORT}` };
  });

const fromCaller = (r: { op?: string }) => r.op?.includes('caller') === true;
const fromInside = (r: { op?: string }) => r.op?.includes('inside the pod') === true;
const everyCallerServed = everyRequest('symptom gone: every caller served by the app', { min: CALLS, where: fromCaller }, (r) => isOk(r));

export default defineScenario({
  id: 'app-bound-to-localhost',
  title: 'An app bound to 127.0.0.1 behind the Istio ≥ 1.10 sidecar: 503 UF for every caller, localhost works',
  reported: ['https://istio.io/latest/blog/2021/upcoming-networking-changes/', 'https://github.com/istio/istio/issues/48267', 'https://github.com/istio/istio/issues/51267'],
  symptom: "every call to the pod gets 503 from its sidecar, while curl localhost inside the pod works; the app's logs show nothing",
  cause: "since Istio 1.10 the inbound cluster forwards to the pod's IP, not 127.0.0.1: an app listening on 127.0.0.1 only is not there",
  timeScaling: 'none needed: each call is one request',
  responseFlags: {
    UF: { where: 'before: 503 UF connection refused (delayed_connect_error 111) from the inbound cluster, for every caller' },
  },
  world: podServingCallers({ port: APP_PORT, bind: '127.0.0.1' }),
  phases: [
    {
      name: 'before',
      title: 'The app listens on 127.0.0.1:8080; the sidecar forwards to the pod IP (Istio ≥ 1.10): 503 for every caller',
      config: 'broken',
      signature: {
        says: "the sidecar's inbound cluster cannot connect to the app (connection refused): an app bound to 127.0.0.1 behind Istio ≥ 1.10, or an app not listening on that port",
        entries: { code: 503, flags: 'UF', details: /remote_connection_failure|delayed_connect_error/, cluster: /^inbound\|/ },
        // Before Istio 1.10 inbound traffic went to 127.0.0.1, where an app bound to localhost answers.
        facts: [signatureFacts.inboundToThePodAddress()],
        counters: [counterShapes.counted(/^cluster\.inbound\|\d+\|\|\.upstream_cx_connect_fail$/, 'the inbound cluster could not connect to the app (upstream_cx_connect_fail)')],
      },
      run: callTheAppThenLocalhost,
      expect: [
        listensOn('127.0.0.1', "trigger: the app listens on 127.0.0.1:8080 only (the pod's ss table)"),
        everyRequest('symptom: every caller gets 503 from the sidecar', { min: CALLS, where: fromCaller }, (r) => r.status === 503 && r.servedBy === undefined),
        everyRequest('…while curl localhost inside the pod works', { min: 1, where: fromInside }, (r) => isOk(r) && r.servedBy === 'pod'),
        everyAccessEntry("mechanism: the inbound cluster connected to the pod's IP and was refused: 503 UF", { kind: 'http', min: CALLS }, (a) => a.code === 503 && a.flags?.includes('UF') === true && a.up_cluster === 'inbound|8080||'),
        check("trigger: the address it dialled was the pod's own IP, where the app does not listen", (e) => {
          const hosts = [...new Set(e.accessLog.filter((a) => a.kind === 'http').map((a) => a.up_host))];
          return { pass: hosts.length === 1 && hosts[0] === `${e.ip('pod')}:${APP_PORT}`, evidence: `upstream host(s) ${hosts.join(', ')}; pod IP ${e.ip('pod')}; ${describeAccess(e.accessLog.filter((a) => a.kind === 'http'))}` };
        }),
      ],
    },
    {
      name: 'control-pre-1-10',
      title: 'The pre-1.10 inbound cluster (127.0.0.1:8080): the same app is reached, which is why it broke with the upgrade',
      config: 'control-pre-1-10',
      run: callTheAppThenLocalhost,
      expect: [everyCallerServed, everyAccessEntry('Envoy connected to 127.0.0.1:8080', { kind: 'http', min: CALLS }, (a) => a.code === 200 && a.up_host === `127.0.0.1:${APP_PORT}`)],
    },
    {
      name: 'fix-bind-all',
      title: 'The app listens on 0.0.0.0: the sidecar reaches it on the pod IP',
      config: 'broken',
      appServer: { bind: '0.0.0.0' },
      run: callTheAppThenLocalhost,
      expect: [listensOn('0.0.0.0', 'fix path: the app listens on 0.0.0.0:8080'), everyCallerServed, everyAccessEntry("fix path: Envoy connected to the pod's IP, and the app answered", { kind: 'http', min: CALLS }, (a) => a.code === 200 && a.up_host?.endsWith(`:${APP_PORT}`) === true && !a.up_host.startsWith('127.'))],
    },
    {
      name: 'fix-default-endpoint',
      title: 'A Sidecar ingress with defaultEndpoint 127.0.0.1:8080: the inbound cluster goes to localhost',
      config: 'fix-default-endpoint',
      run: callTheAppThenLocalhost,
      expect: [everyCallerServed, everyAccessEntry('fix path: Envoy connected to 127.0.0.1:8080 (the defaultEndpoint)', { kind: 'http', min: CALLS }, (a) => a.code === 200 && a.up_host === `127.0.0.1:${APP_PORT}`)],
    },
  ],
});
