/**
 * origination-cert-verify: after an Istio upgrade to 1.21, every call to a partner's API that the
 * sidecar originates TLS for fails with CERTIFICATE_VERIFY_FAILED.
 *
 * Reported  Istio 1.21 upgrade notes (VERIFY_CERTIFICATE_AT_CLIENT and ENABLE_AUTO_SNI on by
 *           default); istio/istio#50126, #50997, #52503, #53186; istio/istio PR #48952.
 * Symptom   The app calls http://api.partner.test/ and the sidecar originates TLS (DestinationRule
 *           tls.mode SIMPLE). After the upgrade every call gets 503 "upstream connect error or
 *           disconnect/reset before headers. … transport failure reason: TLS_error:|268435581:SSL
 *           routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED" (Envoy 1.40's reply, after
 *           Istio's retries, says "remote connection failure"; its access log has the TLS error);
 *           the partner sees nothing.
 * Cause     Since 1.21 a DestinationRule without caCertificates no longer means "verify nothing":
 *           the sidecar verifies the server's certificate against the OS trust bundle (SDS
 *           "file-root:system"), its name against the Host (auto_san_validation), and sends the
 *           Host as SNI (auto_sni). A partner whose certificate comes from its own CA fails.
 * Fixes     The pre-1.21 cluster, written by hand (the flags are gone from both Istio builds
 *           here, so under --istio that phase is not applicable); the DestinationRule naming the
 *           partner's CA (caCertificates): verified, and served.
 * Settled   Both Istio builds render the system bundle with auto SNI and SAN validation; Envoy
 *           1.40 refuses the lab CA's certificate with CERTIFICATE_VERIFY_FAILED.
 *
 * The partner's site is a lab TLS site whose certificate (api.partner.test) the lab CA signed.
 */
import { check, clusterHas, counterGrew, counterShapes, signatureFacts, counterStayedZero, defineScenario, everyAccessEntry, everyRequest, type Lab } from '../src/index.js';

const CALLS = 5;
const CLUSTER = 'outbound|80||api.partner.test';
const stat = (name: string) => `cluster.${CLUSTER}.${name}`;

async function partnerCalls(lab: Lab) {
  for (let i = 1; i <= CALLS; i++) await lab.app.send({ url: 'http://api.partner.test/orders', headers: [], label: `GET http://api.partner.test/orders #${i}` });
}

/** Where the cluster's TLS context gets the certificates it trusts (none: it verifies nothing). */
const trustSource = (tls: any): string => {
  const ctx = tls?.typed_config?.common_tls_context ?? {};
  const sds = ctx.validation_context_sds_secret_config?.name ?? ctx.combined_validation_context?.validation_context_sds_secret_config?.name;
  return ctx.validation_context?.trusted_ca?.filename ?? (sds ? `SDS ${sds}` : 'none');
};
const trusts = (label: string, expected: (source: string) => boolean) => clusterHas(label, CLUSTER, 'transport_socket', (tls) => expected(trustSource(tls)));
const systemBundle = (s: string) => s === '/etc/ssl/certs/ca-certificates.crt' || s === 'SDS file-root:system';

const everyCallServed = everyRequest(`symptom gone: all ${CALLS} calls got 200 from the partner`, { min: CALLS }, (r) => r.status === 200 && r.servedBy === 'partner');

export default defineScenario({
  id: 'origination-cert-verify',
  title: 'Istio 1.21 verifies the certificates of TLS it originates: a partner with its own CA gets CERTIFICATE_VERIFY_FAILED',
  reported: ['https://istio.io/latest/news/releases/1.21.x/announcing-1.21/upgrade-notes/', 'https://github.com/istio/istio/issues/50126', 'https://github.com/istio/istio/issues/52503', 'https://github.com/istio/istio/pull/48952'],
  symptom: 'after an Istio upgrade every call the sidecar originates TLS for gets 503 with CERTIFICATE_VERIFY_FAILED; the external service sees nothing',
  cause: 'since 1.21 a DestinationRule without caCertificates verifies the server against the OS trust bundle (and its name against the Host): a certificate from a private CA fails',
  timeScaling: 'none needed: 5 calls, one after another',
  behaviourChange: 'VERIFY_CERTIFICATE_AT_CLIENT',
  responseFlags: { UF: { where: 'before: 503 UF, TLS_error CERTIFICATE_VERIFY_FAILED from the cluster that originates TLS to the partner' } },
  world: {
    upstreams: [{ name: 'partner', octet: 45, kind: 'tls', port: 443, tls: { cert: 'api.partner.test' } }],
    dns: { 'api.partner.test': 'partner' },
  },
  phases: [
    {
      name: 'before-verify-at-client',
      title: "Istio ≥ 1.21: the partner's certificate verified against the OS trust bundle: every call 503 CERTIFICATE_VERIFY_FAILED",
      config: 'broken',
      signature: {
        says: "the sidecar originating TLS could not verify the server's certificate: a DestinationRule without caCertificates on Istio ≥ 1.21 (the OS trust bundle), or the wrong caCertificates",
        entries: { code: 503, flags: 'UF', details: /CERTIFICATE_VERIFY_FAILED/ },
        // One external host, the same certificate every time.
        facts: [signatureFacts.upstreamHostStays()],
        counters: [counterShapes.counted(/^cluster\.outbound\|.+\.ssl\.fail_verify_error$/, 'the cluster counted server certificates it could not verify (ssl.fail_verify_error)')],
      },
      run: partnerCalls,
      expect: [
        // Measured on 1.40: Envoy's reply names a "remote connection failure" only; the TLS error is
        // in its access log (and in the replies of Envoys that did not retry, as users pasted them).
        everyRequest("symptom: every call got Envoy's 503 \"upstream connect error … remote connection failure\"", { min: CALLS }, (r) => r.status === 503 && r.servedBy === undefined && (r.body ?? '').includes('remote connection failure')),
        everyAccessEntry('mechanism: Envoy failed the TLS handshake to the partner: 503 UF, CERTIFICATE_VERIFY_FAILED', { kind: 'http', min: CALLS }, (a) => a.code === 503 && (a.flags ?? '').includes('UF') && a.up_cluster === CLUSTER && (a.up_fail ?? a.details ?? '').includes('CERTIFICATE_VERIFY_FAILED')),
        counterGrew("mechanism: the cluster counted certificates it could not verify, each try's (Istio's default retries)", stat('ssl.fail_verify_error'), CALLS),
        trusts('trigger: the cluster trusts the OS bundle (Istio: SDS file-root:system)', systemBundle),
        check('…and the partner never got a request', (e) => ({ pass: e.served('partner') === 0, evidence: `the partner served ${e.served('partner')} request(s)` })),
      ],
    },
    {
      name: 'fix-old-behaviour',
      title: 'The pre-1.21 cluster (no verification, no SNI; written by hand: no Istio build here renders it): every call served',
      config: 'fix-old-behaviour',
      istioObjects: 'broken',
      oldIstioBehaviour: true,
      run: partnerCalls,
      expect: [everyCallServed, trusts('fix path: the cluster verifies nothing (the pre-1.21 behaviour)', (s) => s === 'none'), counterStayedZero('fix path: no certificate refused', stat('ssl.fail_verify_error'))],
    },
    {
      name: 'fix-ca-certificates',
      title: "The DestinationRule names the partner's CA (caCertificates): the certificate verifies, every call served",
      config: 'fix-ca-certificates',
      run: partnerCalls,
      expect: [
        everyCallServed,
        trusts("fix path: the cluster trusts the partner's CA, not the OS bundle", (s) => s !== 'none' && !systemBundle(s)),
        counterStayedZero('fix path: no certificate refused', stat('ssl.fail_verify_error')),
        counterGrew('fix path: the TLS handshakes to the partner completed (verified)', stat('ssl.handshake'), 1),
      ],
    },
  ],
});
