/**
 * upstream-goaway: an HTTP/2 service that closes each connection after a fixed number of requests
 * (GOAWAY) makes a few calls fail under concurrent load, at every rotation.
 *
 * Reported  envoy#36450 (503s behind an AWS ALB's 10,000 requests per connection, retries did not
 *           help; workaround max_requests_per_connection 9,500), #7614, #7715, #22825; catalogue
 *           §20 (../shared/research/incident-catalogue.md).
 * Symptom   Under load, a small share of calls to one HTTP/2 service fail with 503 in bursts, at
 *           a steady rate; the service logs no error and never saw those calls.
 * Cause     At its limit the service sends GOAWAY naming the last stream it will process and
 *           closes the connection. Envoy had already sent more streams on it; those are never
 *           answered, and fail unless the route retries them.
 * Fixes     max_requests_per_connection below the service's limit (Envoy rotates first);
 *           a retry policy with refused-stream (Istio's default): the stream goes again on a new
 *           connection.
 * Settled   On Envoy 1.40.0 the streams past the GOAWAY are reset as refused: 503 UR
 *           remote_refused_stream_reset, one attempt, where the route has no retries; Istio's
 *           default retry policy (refused-stream) sends each again and they succeed, so the
 *           report's "retries did not help" is rare against this service: a retry that lands on a
 *           connection the service is closing ends 503 UC connection_termination, not retried
 *           (measured under --istio on docker: none in most runs, 3 of 200 in one, 7 of 200 in a full
 *           suite's load; the before loses 46-70 of 200).
 * Time      The ALB's 10,000 requests per connection scaled to 10; 10 bursts of 20 calls at once.
 */
import { type AccessLogEntry, check, clusterStat, counterGrew, counterShapes, defineScenario, everyAccessEntry, everyRequest, isOk, type Lab, meshService, outcomeCounts, serviceRequest, signatureFacts, upstreamCounted, upstreamCountsOf } from '../src/index.js';

const LIMIT = 10;
const BURSTS = 10;
const AT_ONCE = 20;
const LEVELS = [1, 5, 10, 20];
const call = serviceRequest('/quote', { label: 'GET /quote' });
/** An h2c service (a gRPC server, an ALB reached over HTTP/2) that closes each connection after LIMIT requests; each answer takes 20 ms, so streams overlap. */
const ALB_LIKE_APP = { h2c: 'only' as const, goawayAfter: LIMIT, delayMs: 20 };

/** The app fans out: BURSTS × AT_ONCE calls, each burst at once, one burst after another. */
async function load(lab: Lab) {
  for (let i = 0; i < BURSTS; i++) await lab.app.concurrent(AT_ONCE, call);
  await lab.hosts.upstreamCounts('svc');
}

/** A stream the service's connection close cut before its answer: not a refused stream, so refused-stream does not retry it. */
const cutWithItsConnection = (a: AccessLogEntry) => a.code === 503 && a.flags === 'UC' && (a.details ?? '').includes('upstream_reset_before_response_started{connection_termination}');

/** Every call served, but for the residue the retry policy cannot reach (named, at most 5 %; the before loses 23-35 %, 46-70 of 200, measured). */
const refusedStreamRetryFixes = check('symptom gone: every call served, but for calls cut with a closing connection (503 UC connection_termination, at most 5 %)', (e) => {
  const rs = e.timeline.requests();
  const failed = rs.filter((r) => !(isOk(r) && r.servedBy === 'svc'));
  const cut = e.accessLog.filter(cutWithItsConnection).length;
  const allCut = failed.every((r) => r.status === 503) && failed.length <= cut;
  return { pass: rs.length >= BURSTS * AT_ONCE && allCut && failed.length <= (BURSTS * AT_ONCE) / 20, evidence: `${rs.length} call(s): ${outcomeCounts(rs)}; ${cut} access-log entr${cut === 1 ? 'y' : 'ies'} 503 UC connection_termination` };
});

export default defineScenario({
  id: 'upstream-goaway',
  title: 'An HTTP/2 service that sends GOAWAY after 10 requests per connection: 503s at every rotation under load',
  reported: ['https://github.com/envoyproxy/envoy/issues/36450', 'https://github.com/envoyproxy/envoy/issues/7614', 'https://github.com/envoyproxy/envoy/issues/22825'],
  symptom: 'a steady small share of 503s in bursts under load to one HTTP/2 service, which never saw those calls',
  cause: 'the service GOAWAYs each connection at its request limit and closes it; streams Envoy had already sent past the last one are lost unless the route retries them',
  responseFlags: {
    UR: { where: 'before: 503 UR remote_refused_stream_reset for each stream past a GOAWAY (no retry policy on the route)' },
  },
  timeScaling: "the ALB's 10,000 requests per connection → 10; 10 bursts of 20 calls at once",
  world: meshService(ALB_LIKE_APP),
  phases: [
    {
      name: 'before',
      title: `200 calls, 20 at a time, to a service that GOAWAYs each HTTP/2 connection after ${LIMIT} requests; no retries on the route`,
      config: 'broken',
      signature: {
        says: 'streams lost at an HTTP/2 GOAWAY (a service or load balancer closing each connection after N requests), not retried',
        entries: { code: 503, flags: 'UR', details: /remote_refused_stream/ },
        marks: ['upstreamGoaway'],
        facts: [signatureFacts.othersToTheClusterSucceed()],
        counters: [counterShapes.counted(/^cluster\..+\.upstream_cx_close_notify$/, 'the cluster counted connections the service closed with a GOAWAY (upstream_cx_close_notify)')],
      },
      run: load,
      expect: [
        upstreamCounted('trigger: the service sent GOAWAYs at its limit, and streams reached it past them', 'svc', (c) => c.goaways >= 1 && c.pastGoaway >= 1),
        check('symptom: some calls failed with 503, the rest were served', (e) => {
          const rs = e.timeline.requests();
          const failed = rs.filter((r) => !isOk(r));
          return { pass: rs.length === BURSTS * AT_ONCE && failed.length >= 1 && failed.length < rs.length && failed.every((r) => r.status === 503), evidence: `${failed.length} of ${rs.length} failed: ${outcomeCounts(failed)}` };
        }),
        // Measured on 1.40.0: Envoy resets each stream past the GOAWAY's last stream id as refused
        // (remote_refused_stream_reset, flag UR), which nothing retries on this route.
        everyAccessEntry('mechanism: each failed call is a stream past a GOAWAY: 503 UR remote_refused_stream_reset, one attempt', { kind: 'http', min: 1, where: (a) => a.code !== 200 }, (a) => a.code === 503 && a.flags === 'UR' && a.details === 'upstream_reset_before_response_started{remote_refused_stream_reset}' && a.attempts === 1),
        check('the service never saw the failed calls: it served exactly the calls that succeeded', (e) => {
          const served = upstreamCountsOf(e, 'svc').requests['GET /quote'] ?? 0;
          const ok = e.timeline.requests().filter(isOk).length;
          return { pass: served === ok, evidence: `the app served ${served}, the caller got ${ok} successes` };
        }),
      ],
    },
    {
      name: 'fix-max-requests',
      title: `max_requests_per_connection ${LIMIT - 1}: Envoy retires its connections before the service's limit`,
      config: 'fix-max-requests',
      run: load,
      expect: [
        everyRequest('symptom gone: every call served', { min: BURSTS * AT_ONCE }, (r) => isOk(r) && r.servedBy === 'svc'),
        upstreamCounted('fix path: the service never reached its limit (no GOAWAY)', 'svc', (c) => c.goaways === 0 && c.requests['GET /quote'] === BURSTS * AT_ONCE),
        counterGrew('fix path: Envoy closed connections at its own limit', clusterStat('upstream_cx_max_requests'), 1),
      ],
    },
    {
      name: 'fix-retry-refused-stream',
      title: "Istio's default retry policy (retry_on ...,refused-stream): each refused stream goes again on a new connection",
      config: 'fix-retry-refused-stream',
      run: load,
      expect: [
        refusedStreamRetryFixes,
        upstreamCounted('the service still GOAWAYs at its limit, and streams still reach it past one', 'svc', (c) => c.goaways >= 1 && c.pastGoaway >= 1),
        // envoy#36450 reports that retries did not help (behind an ALB, on an older Envoy). On 1.40.0
        // against this service they do, with a rare residue: a retry that lands on a connection the
        // service is closing ends 503 UC connection_termination, which refused-stream does not retry
        // (measured under --istio on docker: 3 of 200 calls in one of the suite's runs, none in the others).
        everyAccessEntry('fix path: the calls whose first stream was refused were served on a second attempt (or cut with the connection it landed on)', { kind: 'http', min: 1, where: (a) => (a.attempts ?? 1) > 1 }, (a) => a.code === 200 || cutWithItsConnection(a)),
        counterGrew('fix path: Envoy retried, and the retries succeeded', clusterStat('upstream_rq_retry_success'), 1),
      ],
    },
    {
      name: 'natural-rate',
      kind: 'measure',
      title: 'The failure rate per load level, no retries: 1, 5, 10 and 20 calls at once, 60 calls each',
      config: 'broken',
      run: async (lab: Lab) => {
        for (const atOnce of LEVELS) for (let i = 0; i < 60 / atOnce; i++) await lab.app.concurrent(atOnce, call);
        await lab.hosts.upstreamCounts('svc');
      },
      expect: [
        check('the rate per level: none lost one at a time (the GOAWAY comes before the next stream), some lost at 20 at once, every loss a 503', (e) => {
          const rs = e.timeline.requests();
          const level = (op = '') => Number(/ \d+\/(\d+)$/.exec(op)?.[1]);
          const rows = LEVELS.map((n) => {
            const at = rs.filter((r) => level(r.op) === n);
            return { n, total: at.length, failed: at.filter((r) => !isOk(r)).length };
          });
          const every503 = rs.filter((r) => !isOk(r)).every((r) => r.status === 503);
          const one = rows[0]!;
          const top = rows[rows.length - 1]!;
          return {
            pass: rows.every((r) => r.total === 60) && one.failed === 0 && top.failed >= 1 && every503,
            evidence: rows.map((r) => `${r.n} at once: ${r.failed}/${r.total} failed`).join('; '),
          };
        }),
      ],
    },
  ],
});
