/**
 * The keep-alive race, as reusable incident scripts and checks: a client calls through Envoy
 * with idle gaps on a kept-alive connection, and the server behind Envoy gives up on idle
 * connections. Used for the outbound side (keepalive-race: the pod's app → an upstream) and the
 * inbound side (keepalive-race-inbound: a caller → the pod's app).
 *   callsWithIdleGaps  deterministic: the server resets a reused idle connection (the fault)
 *   sweepIdleGaps      natural: the server closes idle connections at a fixed time; the gaps
 *                      sweep across that moment in 1 ms steps (the danger window)
 */
import { check, type Check } from '../checks/check.js';
import { counterGrew, counterStayedZero } from '../checks/counters.js';
import { faultFired } from '../checks/faults.js';
import { everyRequest } from '../checks/requests.js';
import { accessAfter, describeAccess, isOk, requestsAfter } from '../checks/slices.js';
import type { HttpClientOptions } from '../clients/http-client.js';
import { resetIdleReuse } from '../faults/reset-idle-reuse.js';
import type { ScenarioLab as Lab } from '../lab/lab-context.js';
import type { RequestEntry } from '../timeline/timeline.js';

export const CONNECTION_TERMINATION_503 = 'upstream connect error or disconnect/reset before headers. reset reason: connection termination';

export interface RaceTarget {
  /** What the client calls. */
  url: (lab: Lab) => string;
  /** The host whose agent runs the client: "pod" (the app) or a caller outside the pod. */
  client: string;
  /** The host whose server gives up on idle connections (the fault goes there). */
  server: string;
  /** The Envoy cluster between them. */
  cluster: string;
}

const clientOptions = (url: string, o: Partial<HttpClientOptions>): HttpClientOptions => ({
  url,
  everyMs: 0,
  maxRequests: 1,
  maxDurationMs: 60_000,
  requestTimeoutMs: 3000,
  connectTimeoutMs: 1000,
  keepAliveTimeoutMs: 30_000,
  ...o,
});

/** Runs the client until it has sent `n` more requests, then stops it. */
async function runClient(lab: Lab, t: RaceTarget, o: Partial<HttpClientOptions> & { maxRequests: number; maxDurationMs: number }) {
  const before = lab.timeline.requests().length;
  await lab.caller(t.client).start(clientOptions(t.url(lab), o));
  await lab.waitFor(`${o.maxRequests} requests`, (tl) => tl.requests().length >= before + o.maxRequests, o.maxDurationMs);
  await lab.caller(t.client).stop();
}

/** Serial calls with idle gaps longer than the server's keep-alive; the server RSTs a reused idle connection. */
export function callsWithIdleGaps(t: RaceTarget, o: { requests: number; gapMs: number; serverKeepAliveMs: number }) {
  return async (lab: Lab) => {
    await lab.hosts.inject(resetIdleReuse(o.serverKeepAliveMs), t.server);
    await runClient(lab, t, { gapAfterMs: o.gapMs, maxRequests: o.requests, maxDurationMs: o.requests * (o.gapMs + 3000) });
  };
}

/** The race lost: 503 UC on reused connections, the server reset them, Envoy did not retry. */
export function raceLost(t: RaceTarget, min = 2): Check[] {
  return [
    everyRequest('symptom: the client gets 503 with Envoy\'s "connection termination" body', { where: (r) => !isOk(r), min }, (r) => r.status === 503 && r.body === CONNECTION_TERMINATION_503),
    check('mechanism: 503 UC connection_termination, one attempt, on an upstream connection that had served a request', (e) => {
      const http = e.accessLog.filter((a) => a.kind === 'http');
      const uc = http.filter((a) => a.code === 503);
      const reused = uc.filter((a) => http.some((b) => b.code === 200 && b.up_cx === a.up_cx && Date.parse(b.ts) < Date.parse(a.ts)));
      const pass = uc.length >= min && uc.every((a) => a.flags === 'UC' && /connection_termination/.test(a.details ?? '') && a.attempts === 1) && reused.length === uc.length;
      return { pass, evidence: `${describeAccess(uc)}; ${reused.length}/${uc.length} on a reused upstream connection (up_cx ${uc.map((a) => a.up_cx).join(', ')})` };
    }),
    counterGrew('mechanism: the server closed connections with a request on them', `cluster.${t.cluster}.upstream_cx_destroy_remote_with_active_rq`, min),
    counterStayedZero('no retry was attempted', `cluster.${t.cluster}.upstream_rq_retry`),
    faultFired(t.server, 'reset-idle-reuse'),
  ];
}

/** The sweep: the server's idle close measured first, then gaps from close − belowMs to close + aboveMs, `rounds` times. */
export const SWEEP = { idleCloseMs: 100, calibrationGapMs: 150, belowMs: 6, aboveMs: 1, rounds: 25 };

export function sweepIdleGaps(t: RaceTarget) {
  return async (lab: Lab) => {
    const calibration = Array.from({ length: 5 }, () => SWEEP.calibrationGapMs);
    await runClient(lab, t, { gapsMs: calibration, maxRequests: calibration.length + 1, maxDurationMs: 30_000 });
    const closes = lab.timeline.events('idle close').map((x) => Number(x.detail)).sort((a, b) => a - b);
    const closeMs = closes[Math.floor(closes.length / 2)] ?? SWEEP.idleCloseMs;
    lab.note('server idle close (ms)', String(closes.length ? closeMs : 'never'));
    lab.timeline.mark('note', `sweep: idle gaps ${closeMs - SWEEP.belowMs}–${closeMs + SWEEP.aboveMs} ms × ${SWEEP.rounds}`);
    const oneRound = Array.from({ length: SWEEP.belowMs + SWEEP.aboveMs + 1 }, (_, i) => closeMs - SWEEP.belowMs + i);
    const gaps = Array.from({ length: SWEEP.rounds }, () => oneRound).flat();
    await runClient(lab, t, { gapsMs: gaps, maxRequests: gaps.length + 1, maxDurationMs: gaps.reduce((a, b) => a + b, 0) + gaps.length * 3000 });
  };
}

/** "94 ms: 0/25, 95 ms: 1/25, …": the danger window, gap by gap. */
export function perGap(rs: RequestEntry[]): string {
  const byGap = new Map<number, { n: number; lost: number }>();
  for (const r of rs) {
    const x = byGap.get(r.idleGapMs!) ?? { n: 0, lost: 0 };
    x.n++;
    if (!isOk(r)) x.lost++;
    byGap.set(r.idleGapMs!, x);
  }
  return [...byGap].sort(([a], [b]) => a - b).map(([g, x]) => `${g} ms: ${x.lost}/${x.n}`).join(', ');
}

/** The measurement's checks: the sweep straddled the measured close, and the race was lost in it (0 losses is no pass). */
export function raceRateMeasured(t: RaceTarget): Check[] {
  return [
    check("the sweep straddled the server's own close time (measured by the server)", (e) => {
      const close = e.noteNumber('server idle close (ms)');
      const gaps = requestsAfter(e, 'note').map((r) => r.idleGapMs).filter((g): g is number => g !== undefined);
      return {
        pass: gaps.length >= SWEEP.rounds * (SWEEP.belowMs + SWEEP.aboveMs) && Math.min(...gaps) < close && Math.max(...gaps) > close,
        evidence: `calibration: the server closed idle connections after ${close} ms (median); the sweep's gaps ran ${Math.min(...gaps)}–${Math.max(...gaps)} ms (${gaps.length} gaps)`,
      };
    }),
    check('measured: the race was lost at some gap, and every loss was a 503 UC connection_termination', (e) => {
      const rs = requestsAfter(e, 'note').filter((r) => r.idleGapMs !== undefined);
      const lost = rs.filter((r) => !isOk(r));
      const uc = accessAfter(e, 'note', 'http').filter((a) => a.code === 503);
      return {
        pass: lost.length >= 1 && lost.every((r) => r.status === 503) && uc.length === lost.length && uc.every((a) => a.flags === 'UC' && /connection_termination/.test(a.details ?? '')),
        evidence: `${lost.length}/${rs.length} requests lost the race; per idle gap: ${perGap(rs)}; access log: ${describeAccess(uc)}`,
      };
    }),
    counterGrew('the race was real: the server closed idle connections between requests', `cluster.${t.cluster}.upstream_cx_destroy_remote`, 1),
  ];
}
