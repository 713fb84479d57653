/**
 * inbound-source-ip: behind the sidecar, the app sees every caller as 127.0.0.6.
 *
 * Reported  seed 001 §10 (../shared/seeds/001_1893f8f80347ef09.txt, 源IP地址保持).
 * Symptom   With the mesh on, the app can no longer get the client's address: getRemoteAddr()
 *           says 127.0.0.6 for every caller, and no X-Forwarded-For tells it otherwise.
 * Cause     istio-init captures inbound connections with REDIRECT (nat) to Envoy's 15006; Envoy
 *           opens its own connection to the app, bound to 127.0.0.6 (the source ISTIO_OUTPUT
 *           leaves alone). The app's socket peer is Envoy, not the caller.
 * Fixes     TPROXY interception (mangle TPROXY + policy routing; Envoy's original_src keeps the
 *           caller's address on its connection to the app); or the seed's Lua filter that sets
 *           X-Forwarded-For to the caller's address (the socket peer stays 127.0.0.6).
 *
 * The caller is a lab host outside the pod ("client"); the app is a server in the pod (uid 1000)
 * that answers with what it saw: its socket's peer and the header lines it received.
 */
import { appPeerIp, appView, check, configHas, defineScenario, describeAccess, everyAccessEntry, everyRequest, podServingCallers, type Evidence, type Lab, type RequestEntry } from '../src/index.js';

const APP_PORT = 8080;
const CALLS = 5;

/** The caller calls the app on the pod's address, CALLS times, each on a new connection. */
async function callTheApp(lab: Lab) {
  for (let i = 0; i < CALLS; i++) {
    await lab.caller('client').send({ url: `http://${lab.ip('pod')}:${APP_PORT}/whoami`, headers: [['Accept', 'application/json']], label: 'GET /whoami' });
  }
  lab.note('nat ISTIO_IN_REDIRECT packets', String(await lab.hosts.chainPackets('pod', 'nat', 'ISTIO_IN_REDIRECT')));
  lab.note('mangle ISTIO_TPROXY packets', String(await lab.hosts.chainPackets('pod', 'mangle', 'ISTIO_TPROXY')));
}

const peerIp = appPeerIp;
const sawCaller = (e: Evidence) => (r: RequestEntry) => r.status === 200 && peerIp(r) === e.ip('client');

const appSees = (label: string, expected: (e: Evidence, r: RequestEntry) => boolean) =>
  check(label, (e) => {
    const rs = e.timeline.requests();
    const views = [...new Set(rs.map((r) => `peer ${appView(r)?.peer.replace(/:\d+$/, ':*') ?? '?'}, X-Forwarded-For ${appView(r)?.xff ?? '(none)'}`))];
    return { pass: rs.length >= CALLS && rs.every((r) => r.status === 200 && expected(e, r)), evidence: `${rs.length} calls from the client (${e.ip('client')}); the app saw: ${views.join('; ')}` };
  });

const captured = (chain: 'nat ISTIO_IN_REDIRECT' | 'mangle ISTIO_TPROXY') =>
  check(`interception: the calls went through ${chain}`, (e) => {
    const n = e.noteNumber(`${chain} packets`);
    return { pass: n >= CALLS, evidence: `${chain}: ${n} packets` };
  });

export default defineScenario({
  id: 'inbound-source-ip',
  title: "The app behind the sidecar sees every caller as 127.0.0.6",
  seed: 'a write-up in Chinese of the xDS problems one team met in production (its sections are cited in reported)',
  reported: ['seed 001 §10: 源IP地址保持'],
  symptom: "the app's getRemoteAddr() is 127.0.0.6 for every caller, and nothing carries the caller's address",
  cause: "REDIRECT interception: Envoy terminates the caller's connection and opens its own to the app, bound to 127.0.0.6",
  timeScaling: 'none needed: each call is one request',
  world: podServingCallers({ port: APP_PORT, echo: true }),
  phases: [
    {
      name: 'before',
      title: 'REDIRECT interception (Istio default): the app sees 127.0.0.6 and no X-Forwarded-For',
      config: 'broken',
      // Nothing fails in Envoy: the mark is in what the app sees (and logs) of its callers.
      signature: { says: "the app sees every caller as 127.0.0.6 (Istio ≥ 1.10's inbound source; 127.0.0.1 before): nothing fails in Envoy", marks: ['callerIsLoopback'] },
      run: callTheApp,
      expect: [
        appSees("symptom: the app's socket peer is 127.0.0.6 on every call, and no X-Forwarded-For names the caller", (_, r) => peerIp(r) === '127.0.0.6' && !appView(r)?.xff),
        everyAccessEntry(
          "mechanism: Envoy took the caller's connection (downstream = client) and connected to the app from 127.0.0.6 (inbound|8080||)",
          { kind: 'http', min: CALLS },
          (a) => a.up_cluster === 'inbound|8080||' && a.up_local?.startsWith('127.0.0.6:') === true && a.ds_remote?.startsWith(`198.`) === true,
        ),
        check('mechanism: the downstream Envoy saw is the client itself', (e) => {
          const remotes = [...new Set(e.accessLog.filter((a) => a.kind === 'http').map((a) => a.ds_remote?.replace(/:\d+$/, '')))];
          return { pass: remotes.length === 1 && remotes[0] === e.ip('client'), evidence: `downstream remote address(es): ${remotes.join(', ')}; client is ${e.ip('client')}` };
        }),
        captured('nat ISTIO_IN_REDIRECT'),
      ],
    },
    {
      name: 'fix-tproxy',
      title: "interceptionMode TPROXY: Envoy's connection to the app keeps the caller's address",
      config: 'fix-tproxy',
      inbound: 'TPROXY',
      run: callTheApp,
      expect: [
        check("symptom gone: the app's socket peer is the caller's own address on every call", (e) => {
          const rs = e.timeline.requests();
          return { pass: rs.length >= CALLS && rs.every(sawCaller(e)), evidence: `the app saw peer(s) ${[...new Set(rs.map(peerIp))].join(', ')}; client is ${e.ip('client')}` };
        }),
        check("fix path: Envoy's connection to the app came from the caller's address (original_src), not 127.0.0.6", (e) => {
          const http = e.accessLog.filter((a) => a.kind === 'http');
          const locals = [...new Set(http.map((a) => a.up_local?.replace(/:\d+$/, '')))];
          return { pass: http.length >= CALLS && http.every((a) => a.code === 200 && a.up_cluster === 'inbound|8080||' && a.up_local?.startsWith(`${e.ip('client')}:`)), evidence: `${describeAccess(http)}; upstream local address(es): ${locals.join(', ')}` };
        }),
        captured('mangle ISTIO_TPROXY'),
        configHas('fix path: virtualInbound is transparent with original_src', 'envoy.filters.listener.original_src', 'listener virtualInbound'),
      ],
    },
    {
      name: 'fix-xff-lua',
      title: "The seed's Lua filter sets X-Forwarded-For: the app reads the caller from it (the socket peer stays 127.0.0.6)",
      config: 'fix-xff-lua',
      run: callTheApp,
      expect: [
        everyRequest("symptom gone: the app's X-Forwarded-For names the caller", { min: CALLS }, (r) => r.status === 200 && appView(r)?.xff !== undefined),
        check('…and it is exactly the caller\'s address', (e) => {
          const xffs = [...new Set(e.timeline.requests().map((r) => appView(r)?.xff))];
          return { pass: xffs.length === 1 && xffs[0] === e.ip('client'), evidence: `X-Forwarded-For seen by the app: ${xffs.join(', ')}; client is ${e.ip('client')}` };
        }),
        appSees('the socket peer is still 127.0.0.6 (REDIRECT unchanged): the app must read the header', (_, r) => peerIp(r) === '127.0.0.6'),
        configHas('fix path: the Lua filter was in force on the inbound HCM', 'downstreamDirectRemoteAddress', 'virtualInbound 0.0.0.0_8080 http_filters'),
        captured('nat ISTIO_IN_REDIRECT'),
      ],
    },
  ],
});
