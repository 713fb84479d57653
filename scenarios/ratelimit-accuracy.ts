/**
 * ratelimit-accuracy: a sidecar local rate limit of 100 requests/s lets through less than that.
 *
 * Reported  seed 001 §11 (../shared/seeds/001_1893f8f80347ef09.txt, 边车限流不准问题);
 *           envoyproxy/envoy#19474, fixed by envoyproxy/envoy#21327 (+ #21361, May 2022).
 * Symptom   100 requests/s allowed, 200/s offered: with one limit for the whole inbound side
 *           the success rate is a steady 50 %; with the limit on one path (descriptors) it is not.
 * Cause     Descriptor buckets were refilled on multiples of the filter's global timer, and the
 *           timer's ±10 ms jitter made "has a whole interval passed?" come out false now and
 *           then: refills were skipped and the limit under-ran.
 * Fix       Upgrade: Envoy's refill counts timer ticks instead (Istio >= 1.18.2 has it).
 *
 * The load: a caller outside the pod calls the app's /api/test at 200 requests/s for 6 s (1200
 * requests at most, bounded in time), through the sidecar's inbound side. The accepted rate is
 * measured from second 2 to second 6, after the bucket's initial 100 tokens are spent.
 */
import { check, type Check, counterGrew, counterShapes, defineScenario, everyAccessEntry, type Evidence, EvidenceMissing, type Lab, podServingCallers, type RequestEntry } from '../src/index.js';

const APP_PORT = 8080;
const LIMIT_RPS = 100;
const OFFERED_RPS = 200;
const LOAD_MS = 6000;
/** The steady-state window, in ms after the first request: the initial burst of 100 tokens is over. */
const WINDOW = { fromMs: 2000, toMs: 6000 };
/** How far the accepted rate may be from the limit and still count as accurate. */
const TOLERANCE = 0.15;
const LIMITER = 'http_local_rate_limiter.http_local_rate_limit';

/** A caller outside the pod at 200 requests/s on one keep-alive connection (serial, paced every 5 ms). */
async function offeredLoad(lab: Lab) {
  await lab.caller('client').start({
    url: `http://${lab.ip('pod')}:${APP_PORT}/api/test`,
    everyMs: 1000 / OFFERED_RPS,
    maxRequests: (OFFERED_RPS * LOAD_MS) / 1000,
    maxDurationMs: LOAD_MS,
    requestTimeoutMs: 2000,
    connectTimeoutMs: 1000,
    keepAliveTimeoutMs: 30_000,
  });
  await lab.sleep(LOAD_MS); // the client stops by itself at LOAD_MS; stop waits for its last request
  await lab.caller('client').stop();
}

/** Requests that started inside the steady-state window. */
function steadyState(e: Evidence): RequestEntry[] {
  const rs = e.timeline.requests();
  const t0 = rs[0]?.t ?? 0;
  return rs.filter((r) => r.t >= t0 + WINDOW.fromMs && r.t < t0 + WINDOW.toMs);
}
const perSecond = (n: number) => (n * 1000) / (WINDOW.toMs - WINDOW.fromMs);
const describe = (rs: RequestEntry[]) => {
  const ok = rs.filter((r) => r.status === 200).length;
  const limited = rs.filter((r) => r.status === 429).length;
  return `offered ${perSecond(rs.length).toFixed(0)}/s, accepted ${perSecond(ok).toFixed(0)}/s (${((100 * ok) / Math.max(1, rs.length)).toFixed(1)} %), ${perSecond(limited).toFixed(0)}/s answered 429`;
};

/**
 * The load really was above the limit (else an accurate limiter and a broken one look alike).
 * When the caller could not offer it (a busy machine), nothing can be judged: UNKNOWN, not FAIL.
 */
const offeredTwiceTheLimit = check(`the caller offered ≥ ${OFFERED_RPS * 0.75} requests/s (the limit is ${LIMIT_RPS}/s) from second 2 to 6`, (e) => {
  const rs = steadyState(e);
  if (perSecond(rs.length) < OFFERED_RPS * 0.75) throw new EvidenceMissing(`the offered load: only ${describe(rs)} (too busy a machine? fewer --parallel)`);
  return { pass: true, evidence: describe(rs) };
});

/** The window cut in slices of this length: each must see a 429, or the bucket refilled unseen. */
const SLICE_MS = 500;

/**
 * The bucket was never left to refill: every 500 ms slice of the window had a 429. A caller that
 * stalls (a busy machine) lets up to 100 tokens pile up and then spends them in a burst, and the
 * accepted rate over the window overshoots by design of a token bucket, not by a bug (measured:
 * 116-121/s with four labs on two cores). Without steady load the accuracy cannot be judged.
 */
function slicesWithout429(e: Evidence): number[] {
  const rs = e.timeline.requests();
  const t0 = rs[0]?.t ?? 0;
  const empty: number[] = [];
  for (let from = WINDOW.fromMs; from < WINDOW.toMs; from += SLICE_MS) {
    if (!rs.some((r) => r.status === 429 && r.t >= t0 + from && r.t < t0 + from + SLICE_MS)) empty.push(from);
  }
  return empty;
}

const loadSteadyAboveLimit = check(`the load stayed above the limit: a 429 in every ${SLICE_MS} ms of seconds 2 to 6 (the bucket never refilled unused)`, (e) => {
  const empty = slicesWithout429(e);
  if (empty.length) throw new EvidenceMissing(`a steady load: no 429 in the slice(s) starting at ${empty.map((t) => `${t} ms`).join(', ')}: the caller stalled (too busy a machine? fewer --parallel)`);
  return { pass: true, evidence: `a 429 in all ${(WINDOW.toMs - WINDOW.fromMs) / SLICE_MS} slices` };
});

/** Accepted requests per second in the steady state, within the tolerance of the limit (or not). */
const acceptedAtTheLimit = (accurate: boolean): Check =>
  check(
    accurate
      ? `accurate: ${LIMIT_RPS} ± ${TOLERANCE * 100} % requests/s accepted from second 2 to 6`
      : `the seed's inaccuracy: the accepted rate is more than ${TOLERANCE * 100} % off ${LIMIT_RPS}/s from second 2 to 6`,
    (e) => {
      const stalls = slicesWithout429(e);
      if (stalls.length) throw new EvidenceMissing(`a steady load above the limit: no 429 in ${stalls.length} slice(s) of ${SLICE_MS} ms, so the bucket refilled unseen (a busy machine?)`);
      const rs = steadyState(e);
      const rate = perSecond(rs.filter((r) => r.status === 200).length);
      const within = Math.abs(rate - LIMIT_RPS) <= LIMIT_RPS * TOLERANCE;
      return { pass: rs.length > 0 && within === accurate, evidence: describe(rs) };
    },
  );

const limiterAnswered = everyAccessEntry("the limiter answered the excess itself: 429 RL local_rate_limited, never reaching the app", { kind: 'http', where: (a) => a.code !== 200, min: 20 }, (a) => a.code === 429 && a.flags === 'RL' && a.details === 'local_rate_limited');

export default defineScenario({
  id: 'ratelimit-accuracy',
  title: 'A 100 requests/s local rate limit on one path lets through less than 100/s (descriptor refills skipped)',
  seed: 'a write-up in Chinese of the xDS problems one team met in production (its sections are cited in reported)',
  reported: ['seed 001 §11: 边车限流不准问题', 'https://github.com/envoyproxy/envoy/issues/19474', 'https://github.com/envoyproxy/envoy/pull/21327'],
  symptom: 'a per-path local rate limit of 100/s under 200/s of load does not hold a steady 50 % success rate; a whole-listener one does',
  cause: "descriptor token buckets were refilled on multiples of the global timer, and the timer's jitter skipped refills",
  timeScaling: 'none: 100/s limit, 200/s offered, as in the seed; 6 s of load instead of minutes',
  responseFlags: { RL: { where: 'the excess over the limit answered 429 RL local_rate_limited' } },
  world: podServingCallers({ port: APP_PORT }),
  phases: [
    {
      name: 'before',
      title: "The seed's scenario 2: 100/s on path /api/test (descriptors), 200/s offered",
      config: 'broken',
      signature: {
        says: "the local rate limit refused the excess (check the accepted rate against the limit)",
        entries: { code: 429, flags: 'RL', details: /local_rate_limited/ },
        counters: [counterShapes.counted(/^http_local_rate_limit(er)?\..*rate_limited$/, 'the local rate limit counted refused requests (rate_limited)')],
      },
      run: offeredLoad,
      // 200/s held steady for 6 s: beside other labs on two cores the caller cannot hold it (measured: UNKNOWN with four labs).
      load: 'alone',
      expect: [offeredTwiceTheLimit, limiterAnswered, counterGrew('the per-path bucket ran dry', `${LIMITER}.rate_limited`, 20)],
      documented: [
        {
          symptom: acceptedAtTheLimit(false),
          // envoy#21327 and its follow-up #21361 were merged in May 2022 (Envoy 1.23); Istio
          // 1.18.2 carries them (the seed). Measured on 1.36.4 and 1.40.0: 100 ± 2/s.
          goneFrom: '1.23.0',
          trigger: [offeredTwiceTheLimit, loadSteadyAboveLimit, counterGrew('the descriptor bucket for /api/test was the one enforced', `${LIMITER}.rate_limited`, 20)],
          why: 'envoy#21327 (Envoy 1.23) counts timer ticks for descriptor refills',
        },
      ],
    },
    {
      name: 'whole-inbound',
      kind: 'measure',
      title: "The seed's scenario 1: 100/s for the whole inbound side, 200/s offered: accurate",
      config: 'whole-inbound',
      run: offeredLoad,
      load: 'alone',
      expect: [offeredTwiceTheLimit, loadSteadyAboveLimit, acceptedAtTheLimit(true), limiterAnswered],
    },
  ],
});
