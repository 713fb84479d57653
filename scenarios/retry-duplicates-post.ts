/**
 * retry-duplicates-post: one payment request from the app, three payouts at the service.
 *
 * Reported  istio#50506 (a double payout), istio#13851, istio#27340; istio PR#10566 (the default
 *           retry policy); catalogue §6 (../shared/research/incident-catalogue.md).
 * Symptom   The app POSTs a payment once and gets a 503; the payments service did the payment
 *           three times. Nobody retried in the app.
 * Cause     Envoy retries what its route's retry policy says, whatever the method. A policy that
 *           retries a 503 (what Istio's default used to say, retriable_status_codes [503], and
 *           what teams write back into a VirtualService) or a reset (retryOn 5xx) sends the POST
 *           again although the service had already done the work before it failed. URX when the
 *           retries run out.
 * Fixes     VirtualService retries.attempts 0 on that route; or an idempotency key the service
 *           de-duplicates (the retry then does no work).
 * Controls  Today's Istio default does not retry a 503 any more (its retriable-status-codes has no
 *           codes: measured on both Istios the lab builds), and retryOn connect-failure alone never
 *           repeats work (the request never reached the app).
 *
 * The service is the lab's programmable upstream: it does the work (counted per method and path),
 * then answers 503 (or resets the connection); in the fix it de-duplicates by Idempotency-Key.
 */
import { type Check, clusterStat, counterGrew, counterShapes, counterStayedZero, defineScenario, everyAccessEntry, everyRequest, type Lab, meshService, routeHas, serviceRequest, upstreamCounted } from '../src/index.js';

const PAYMENTS = 5;
const PAY = 'POST /pay';
const RETRY = clusterStat('upstream_rq_retry');
/** A field of the route Envoy ran for app.test. */
const APP_ROUTE = (field: string) => ({ route: '8080', domain: 'app.test', field });

/** The app makes 5 payments, one after another, each with its own idempotency key; then the service is asked what it did. */
const pay = async (lab: Lab) => {
  for (let i = 1; i <= PAYMENTS; i++) {
    await lab.app.send(serviceRequest('/pay', { method: 'POST', headers: [['content-type', 'application/json'], ['idempotency-key', `payment-${i}`]], body: `{"payment":${i},"amount":10}`, label: `POST /pay #${i}` }));
  }
  await lab.hosts.upstreamCounts('svc');
};

/** How many times the service did the work, per payment the app asked for. */
const paidTimes = (times: number, why: string): Check =>
  upstreamCounted(`${why}: the service did ${PAYMENTS} payments ${times === 1 ? 'once each' : `${times} times each`} (${PAYMENTS * times} in all)`, 'svc', (c) => c.work[PAY] === PAYMENTS * times);

const every503 = (why: string) => everyRequest(`${why}: every payment got 503`, { min: PAYMENTS }, (r) => r.status === 503);

const sawTheFailure = (what: string) =>
  upstreamCounted(`trigger: the service failed every attempt after doing the work (${what})`, 'svc', (c) => (c.requests[PAY] ?? 0) >= PAYMENTS && (what === 'reset' ? c.resetsAfterRead === c.requests[PAY] : c.resetsAfterRead === 0));

/** Envoy's account of one payment: its attempts and the flags once they ran out. */
const attempts = (n: number, flags: (f?: string) => boolean, label: string) => everyAccessEntry(label, { kind: 'http', where: (a) => a.method === 'POST', min: PAYMENTS }, (a) => a.attempts === n && flags(a.flags));

const retriedCounted = counterGrew('mechanism: Envoy counted its retries', RETRY, PAYMENTS * 2);
const neverRetried = (why: string) => counterStayedZero(why, RETRY);

const notRetried503 = [every503('the app still sees the failure'), attempts(1, (f) => f === undefined, 'Envoy sent each payment once and passed the 503 on (no flag)'), paidTimes(1, 'symptom gone'), sawTheFailure('503')];

export default defineScenario({
  id: 'retry-duplicates-post',
  title: 'Retries that repeat a payment: one POST from the app, three at the service',
  reported: ['https://github.com/istio/istio/issues/50506', 'https://github.com/istio/istio/issues/13851', 'https://github.com/istio/istio/pull/10566'],
  symptom: 'a POST that failed with 503 was done two or three times by the service',
  cause: 'a route retry policy that retries a 503 or a reset (retriable_status_codes [503], retryOn 5xx) replays a POST whose work was already done',
  timeScaling: 'none needed: 5 payments, one after another',
  responseFlags: { URX: { where: 'before: 503 URX after 3 attempts (a 503 retried); before-reset: 503 URX,UC' }, UC: { where: 'before-reset: each attempt reset after the work (connection_termination)' } },
  world: meshService({ status: 503, body: 'payments: the payment was made, then the response failed\n' }),
  phases: [
    {
      name: 'before',
      title: 'retriable_status_codes [503] and a service that answers 503 after the work: each payment made 3 times, URX',
      config: 'broken',
      signature: {
        says: 'a POST retried on a 5xx: the service did the work once per attempt',
        entries: { method: 'POST', code: 503, flags: 'URX', details: /via_upstream/ },
        counters: [counterShapes.counted(/^cluster\..+\.upstream_rq_retry$/, 'the cluster counted retries (upstream_rq_retry)')],
      },
      run: pay,
      expect: [
        routeHas('trigger: the route in force retries a 503', APP_ROUTE('retry_policy'), (p) => p?.retry_on?.includes('retriable-status-codes') && p.retriable_status_codes?.includes(503)),
        sawTheFailure('503'),
        every503('the app sees one failure per payment'),
        paidTimes(3, 'symptom'),
        attempts(3, (f) => f === 'URX', 'mechanism: Envoy made 3 attempts per payment, then gave up: flag URX'),
        retriedCounted,
      ],
    },
    {
      name: 'before-reset',
      title: 'retryOn 5xx and a service that resets the connection after the work: each payment made 3 times',
      config: 'broken-retry-5xx',
      signature: {
        says: 'a POST retried on a reset after the service did the work: the work done once per attempt',
        entries: { method: 'POST', code: 503, flags: 'URX,UC', details: /connection_termination/ },
        counters: [counterShapes.counted(/^cluster\..+\.upstream_rq_retry$/, 'the cluster counted retries (upstream_rq_retry)')],
      },
      upstreams: { svc: { http: { responses: Array(PAYMENTS * 3).fill('reset') } } },
      run: pay,
      expect: [
        routeHas('trigger: the route in force retries 5xx (a reset included)', APP_ROUTE('retry_policy'), (p) => p?.retry_on === '5xx'),
        sawTheFailure('reset'),
        every503('the app sees one failure per payment'),
        paidTimes(3, 'symptom'),
        // Envoy 1.40 logs "URX,UC" with upstream_reset_before_response_started{connection_termination}.
        attempts(3, (f) => (f ?? '').split(',').includes('URX') && (f ?? '').split(',').includes('UC'), 'mechanism: 3 attempts per payment, each one reset (UC), then the retries ran out (URX)'),
        retriedCounted,
      ],
    },
    {
      name: 'control-istio-default',
      title: "Today's Istio default retry policy (no VirtualService): a 503 is not retried, each payment made once",
      config: 'control-istio-default',
      run: pay,
      expect: [
        routeHas("the control was in force: Istio's default retry_on, with no retriable_status_codes (retriable-status-codes matches nothing)", APP_ROUTE('retry_policy'), (p) => p?.retry_on?.includes('retriable-status-codes') && !p.retriable_status_codes?.length),
        ...notRetried503,
        neverRetried('Envoy retried nothing'),
      ],
    },
    {
      name: 'fix-no-retries',
      title: 'VirtualService retries.attempts 0 on the payment route: each payment made once, the app decides',
      config: 'fix-no-retries',
      run: pay,
      expect: [
        routeHas('fix path: the route in force has no retry policy', APP_ROUTE('retry_policy'), (p) => p === undefined),
        ...notRetried503,
        neverRetried('Envoy retried nothing'),
      ],
    },
    {
      name: 'fix-idempotency-key',
      title: 'The same retries; the service de-duplicates by Idempotency-Key: each payment made once, the retry gets 200',
      config: 'fix-idempotency-key',
      upstreams: { svc: { http: { idempotencyKey: 'Idempotency-Key' } } },
      run: pay,
      expect: [
        paidTimes(1, 'symptom gone'),
        upstreamCounted(`fix path: Envoy still retried, and the service absorbed one repeated key per payment (${PAYMENTS})`, 'svc', (c) => c.duplicatesAbsorbed === PAYMENTS && c.requests[PAY] === PAYMENTS * 2),
        everyRequest('the app got 200 for every payment (the retry was answered from the first attempt\'s work)', { min: PAYMENTS }, (r) => r.status === 200 && /done once/.test(r.body ?? '')),
        attempts(2, (f) => f === undefined, 'Envoy: 2 attempts per payment, the second one answered'),
      ],
    },
    {
      name: 'control-connect-failure',
      title: 'retryOn connect-failure alone: the 503 is not retried, each payment made once',
      config: 'control-connect-failure',
      run: pay,
      expect: [routeHas('the control was in force: retry_on connect-failure', APP_ROUTE('retry_policy'), (p) => p?.retry_on === 'connect-failure'), ...notRetried503, neverRetried('Envoy retried nothing')],
    },
  ],
});
