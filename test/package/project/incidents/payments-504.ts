/**
 * payments-504: the checkout call to payments failed with 504 after exactly 1 s.
 *
 * Reported  our postmortem PM-1234 (a team's own incident: no public seed).
 * Symptom   POST /charge answered 504 "upstream request timeout" after 1.0 s, every time the
 *           payments service took longer than that (its p99 is 1.5 s).
 * Cause     A VirtualService timeout of 1 s, copied from another service.
 * Fix       A timeout above payments' slowest call: 5 s.
 */
import { defineScenario, everyAccessEntry, everyRequest, meshService, routeHas, serviceRequest, type Lab } from 'envoy-fault-lab';

const SLOW_MS = 1500;
const oneCharge = async (lab: Lab) => {
  await lab.app.send(serviceRequest('/charge', { timeoutMs: 10_000 }));
};
const ROUTE = { route: '8080', domain: 'app.test', field: 'timeout' };

export default defineScenario({
  id: 'payments-504',
  title: 'Checkout to payments: 504 after exactly 1 s',
  reported: 'PM-1234, our postmortem',
  symptom: 'POST /charge answered 504 "upstream request timeout" after 1.0 s',
  cause: 'a VirtualService timeout of 1 s, below the service’s slowest call (1.5 s)',
  timeScaling: 'none: the service takes 1.5 s, as in production',
  world: meshService({ delayMs: SLOW_MS, body: 'charged\n' }),
  phases: [
    {
      name: 'before',
      title: 'Route timeout 1 s, a 1.5 s call: 504 UT after 1.0 s',
      config: 'before',
      // What our sidecars log for it: triage --scenarios ./incidents names it from a pasted line.
      signature: { says: 'a route timeout of 1 s below the service\'s slowest call', entries: { code: 504, flags: 'UT', duration: { near: 1000, within: 150 } } },
      run: oneCharge,
      expect: [
        routeHas('trigger: the route times out at 1 s', ROUTE, (t) => t === '1s'),
        everyRequest('symptom: 504 "upstream request timeout" after about 1 s', { min: 1 }, (r) => r.status === 504 && r.latencyMs >= 950 && r.latencyMs < 1400),
        everyAccessEntry('mechanism: Envoy ended it, 504 UT response_timeout', { kind: 'http', min: 1 }, (a) => a.code === 504 && a.flags === 'UT'),
      ],
    },
    {
      name: 'fix-timeout-5s',
      title: 'Route timeout 5 s: the 1.5 s call is answered',
      config: 'fix',
      run: oneCharge,
      expect: [
        routeHas('fix in force: the route times out at 5 s', ROUTE, (t) => t === '5s'),
        everyRequest('symptom gone: 200 after the service’s 1.5 s', { min: 1 }, (r) => r.status === 200 && r.latencyMs >= SLOW_MS - 50),
      ],
    },
  ],
});
