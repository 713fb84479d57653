/**
 * mtls-mode-conflict: a server pod under STRICT mTLS, and a client whose sidecar sends it
 * plaintext: every call fails with 503 UC, and the server's sidecar turns each connection away.
 *
 * Reported  istio.io "Traffic Management Problems" § 503 errors after setting destination rule;
 *           istio#27169 (a non-mesh client against STRICT: connection reset by peer), istio#35870
 *           (mTLS to a plaintext endpoint: WRONG_VERSION_NUMBER); catalogue §3
 *           (../shared/research/incident-catalogue.md).
 * Symptom   503s start right after a DestinationRule is applied: "upstream connect error or
 *           disconnect/reset before headers. reset reason: connection termination". The server's
 *           sidecar logs NR filter_chain_not_found; the app never sees the calls.
 * Cause     The DestinationRule says tls.mode DISABLE (what a rule without `tls:` meant before
 *           auto-mTLS), so the client's sidecar speaks plaintext; the server's PeerAuthentication
 *           is STRICT, so its inbound listener has only TLS chains for the app's port: no chain
 *           matches, Envoy closes the connection.
 * Fixes     tls.mode ISTIO_MUTUAL (or no tls at all: auto-mTLS); PERMISSIVE on the server during a
 *           migration (plaintext and mTLS both accepted).
 *
 * Two sidecars: the pod's (the client) and the server pod's own (world.peerSidecar), each with
 * its workload certificate from the lab CA over SDS (`default`, `ROOTCA`, as pilot-agent serves
 * them). The mTLS is real: each side's access log names the peer's SPIFFE id from its certificate.
 */
import { type AccessLogEntry, type Check, check, clusterStat, counterGrew, counterShapes, defineScenario, describeAccess, everyAccessEntry, everyRequest, isOk, type Lab, meshService, noAccessEntries, outcomeCounts, SERVICE_URL, signatureFacts } from '../src/index.js';

const CLIENT_ID = 'spiffe://cluster.local/ns/default/sa/sleep';
const SERVER_ID = 'spiffe://cluster.local/ns/default/sa/app';
const CALLS = 10;

/** The app calls the service 10 times, 150 ms apart, on its kept-alive connection. */
async function tenCalls(lab: Lab) {
  await lab.app.start({ url: `${SERVICE_URL}/`, everyMs: 150, maxRequests: CALLS, maxDurationMs: 6000, requestTimeoutMs: 2000, connectTimeoutMs: 1000, keepAliveTimeoutMs: 30_000 });
  await lab.waitFor(`${CALLS} calls`, (t) => t.requests().length >= CALLS, 6000);
  await lab.app.stop();
}

/** The server's sidecar turned every connection away: no filter chain for it (its listener's own log). */
const serverTurnedAway = (label: string): Check =>
  everyAccessEntry(label, { sidecar: 'peer', kind: 'tcp', min: 1, where: (a) => a.flags === 'NR' }, (a) => a.details === 'filter_chain_not_found' && a.ds_local?.endsWith(':8080') === true);

const noChainCounted = check("mechanism: the server's virtualInbound counted connections with no filter chain", (e) => {
  const n = e.peerCounter('listener.0.0.0.0_15006.no_filter_chain_match');
  return { pass: n >= 1, evidence: `listener.0.0.0.0_15006.no_filter_chain_match ${n} on the server's sidecar` };
});

const appSawNothing = check('the app on the server never saw a call', (e) => ({ pass: e.served('svc') === 0, evidence: `app served ${e.served('svc')}` }));

/** mTLS end to end: each side's log names the other's SPIFFE id, from the certificate it checked. */
const mutualTls: Check[] = [
  everyAccessEntry(`fix path: the client's sidecar saw the server's certificate (${SERVER_ID})`, { kind: 'http', min: CALLS }, (a) => a.code === 200 && a.up_peer === SERVER_ID),
  everyAccessEntry(`fix path: the server's sidecar saw the client's certificate (${CLIENT_ID}) over TLS`, { sidecar: 'peer', kind: 'http', min: CALLS }, (a) => a.code === 200 && a.ds_peer === CLIENT_ID && /^TLSv1\.[23]$/.test(a.ds_tls ?? '')),
];

/**
 * Served on the port's chain without TLS: no TLS version, no peer certificate on the server's side.
 * (Istio names the PERMISSIVE port's TLS and plaintext chains alike, 0.0.0.0_8080.)
 */
const plaintextChain = (a: AccessLogEntry) => a.code === 200 && (a.chain ?? '').startsWith('0.0.0.0_8080') && !a.ds_tls && a.ds_peer === undefined;

const allServed = everyRequest('symptom gone: every call served by the app', { min: CALLS }, (r) => isOk(r) && r.servedBy === 'svc');

export default defineScenario({
  id: 'mtls-mode-conflict',
  title: 'A DestinationRule with tls DISABLE against a STRICT server: 503 UC, and NR filter_chain_not_found on the server',
  reported: ['https://istio.io/latest/docs/ops/common-problems/network-issues/', 'https://github.com/istio/istio/issues/27169', 'https://github.com/istio/istio/issues/35870'],
  symptom: "every call to one service fails with 503 'connection termination' right after a DestinationRule; the server's sidecar logs NR filter_chain_not_found",
  cause: "the client's sidecar sends plaintext (DestinationRule tls DISABLE); the server's sidecar is STRICT: its inbound listener has only TLS chains for the port, so none matches and it closes the connection",
  responseFlags: {
    UC: { where: "before: 503 UC connection_termination at the client's sidecar (plaintext to a STRICT server)" },
    NR: { where: "before: the server's sidecar, NR filter_chain_not_found for each plaintext connection" },
    UF: { where: 'before-mtls-to-plain-server: 503 UF, a TLS error (WRONG_VERSION_NUMBER) when mTLS reaches a server without a sidecar' },
  },
  timeScaling: 'none: 10 calls, 150 ms apart',
  world: { ...meshService(), peerSidecar: { host: 'svc', config: 'server-strict' } },
  phases: [
    {
      name: 'before',
      title: "DestinationRule tls DISABLE on the client, STRICT on the server: 503 UC for every call, NR filter_chain_not_found at the server's sidecar",
      config: 'dr-disable',
      signature: {
        says: 'plaintext from the client sidecar to a server that requires mTLS (DestinationRule tls DISABLE against STRICT): the server closes each connection',
        entries: { code: 503, flags: 'UC', details: /connection_termination/ },
        alsoAs: [{ by: "the server's sidecar (STRICT)", entries: { kind: 'tcp', flags: 'NR', details: /filter_chain_not_found/ }, source: "this before's peer sidecar log: no filter chain of the STRICT listener takes plaintext" }],
        facts: [signatureFacts.noCallToTheClusterSucceeds()],
        counters: [counterShapes.counted(/^cluster\.outbound\|.+\.upstream_cx_destroy_remote_with_active_rq$/, "the client's cluster counted connections the server closed under a request")],
      },
      run: tenCalls,
      expect: [
        everyRequest('symptom: every call got 503', { min: CALLS }, (r) => r.status === 503),
        everyAccessEntry("mechanism: the client's sidecar: 503 UC upstream_reset_before_response_started{connection_termination}, plaintext (no peer certificate)", { kind: 'http', min: CALLS }, (a) => a.code === 503 && a.flags === 'UC' && /connection_termination/.test(a.details ?? '') && a.up_peer === undefined),
        serverTurnedAway("mechanism: the server's sidecar turned each connection away: NR filter_chain_not_found on its port 8080"),
        noChainCounted,
        appSawNothing,
      ],
    },
    {
      name: 'before-no-sidecar',
      title: 'A client without a sidecar (its traffic bypasses Envoy) against STRICT: the connection is closed on it, the app never answers',
      config: 'dr-disable',
      excludeOutbound: ['svc'],
      signature: { none: "the client has no sidecar: its log has nothing; the server's sidecar logs NR filter_chain_not_found, which a listener-level log shows (Istio's default has none)" },
      run: tenCalls,
      expect: [
        everyRequest('symptom: every call failed without an HTTP answer (the connection closed on it)', { min: CALLS }, (r) => r.status === undefined && !!r.error),
        noAccessEntries("the client's own sidecar was not in the path"),
        serverTurnedAway("mechanism: the server's sidecar turned each connection away: NR filter_chain_not_found"),
        noChainCounted,
        appSawNothing,
      ],
    },
    {
      name: 'before-mtls-to-plain-server',
      title: 'ISTIO_MUTUAL to a server pod without a sidecar (istio#35870): 503 UF, a TLS error, for every call',
      config: 'dr-istio-mutual',
      peerSidecar: false,
      signature: {
        says: 'mTLS sent to an endpoint that speaks plaintext (a pod without a sidecar): the TLS handshake fails',
        entries: { code: 503, flags: 'UF', details: /WRONG_VERSION_NUMBER/ },
        facts: [signatureFacts.noCallToTheClusterSucceeds()],
        counters: [counterShapes.counted(/^cluster\.outbound\|.+\.ssl\.connection_error$/, "the client's cluster counted TLS connection errors (the handshake with a plaintext endpoint)")],
      },
      run: tenCalls,
      expect: [
        everyRequest('symptom: every call got 503', { min: CALLS }, (r) => r.status === 503),
        // Measured on 1.40.0: Istio's default retry policy (connect-failure) tries twice more, so
        // the entry is URX,UF after 3 attempts, each handshake answered by the app's plaintext.
        everyAccessEntry('mechanism: 503 URX,UF after 3 attempts: the TLS handshake got plaintext back (WRONG_VERSION_NUMBER)', { kind: 'http', min: CALLS }, (a) => a.code === 503 && (a.flags ?? '').split(',').sort().join(',') === 'UF,URX' && a.attempts === 3 && /WRONG_VERSION_NUMBER/.test(a.details ?? '')),
        counterGrew("mechanism: the client's sidecar counted TLS connection errors to the service", clusterStat('ssl.connection_error'), 1),
      ],
    },
    {
      name: 'fix-istio-mutual',
      title: 'DestinationRule tls ISTIO_MUTUAL: mTLS end to end, every call served; each side names the other from its certificate',
      config: 'dr-istio-mutual',
      run: tenCalls,
      expect: [allServed, ...mutualTls],
    },
    {
      name: 'fix-permissive',
      title: 'PERMISSIVE on the server (a migration), the DestinationRule still DISABLE: plaintext accepted, every call served',
      config: 'dr-disable',
      peerSidecar: 'server-permissive',
      run: tenCalls,
      expect: [
        allServed,
        everyAccessEntry("fix path: the server's sidecar took them on its plaintext chain (no peer certificate)", { sidecar: 'peer', kind: 'http', min: CALLS }, plaintextChain),
      ],
    },
    {
      name: 'fix-permissive-no-sidecar',
      title: 'PERMISSIVE on the server: a client without a sidecar is served too',
      config: 'dr-disable',
      excludeOutbound: ['svc'],
      peerSidecar: 'server-permissive',
      run: tenCalls,
      expect: [
        allServed,
        everyAccessEntry("fix path: the server's sidecar took them on its plaintext chain", { sidecar: 'peer', kind: 'http', min: CALLS }, plaintextChain),
      ],
    },
    {
      name: 'control-plain-server',
      title: 'DISABLE to a server pod without a sidecar: plaintext both ends, served (why DISABLE looked right for a service outside the mesh)',
      config: 'dr-disable',
      peerSidecar: false,
      run: tenCalls,
      expect: [
        allServed,
        check('no TLS anywhere: the client saw no peer certificate', (e) => {
          const a = e.accessLog.filter((x) => x.kind === 'http');
          return { pass: a.length >= CALLS && a.every((x) => x.up_peer === undefined), evidence: describeAccess(a) };
        }),
      ],
    },
  ],
});
