/** Named checks on what the app saw: its requests' outcomes and the connections that carried them. */
import type { RequestEntry } from '../timeline/timeline.js';
import { check, type Check } from './check.js';
import { isOk, localPorts, outcomeCounts, requestsIn, type Window } from './slices.js';

export interface RequestSelection extends Window {
  /** Only these requests (e.g. the failed ones). */
  where?: (r: RequestEntry) => boolean;
  /** At least this many must be selected (default 1): a check over nothing is not a pass. */
  min?: number;
}

/** Every selected request satisfies `expected`, and there are at least `min` of them. */
export function everyRequest(label: string, sel: RequestSelection, expected: (r: RequestEntry) => boolean): Check {
  return check(label, (e) => {
    const rs = requestsIn(e, sel).filter(sel.where ?? (() => true));
    const bad = rs.filter((r) => !expected(r));
    const min = sel.min ?? 1;
    return {
      pass: rs.length >= min && bad.length === 0,
      evidence: `${rs.length} request(s) (need ≥ ${min}): ${outcomeCounts(rs)}${bad.length ? `; ${bad.length} not as expected` : ''}`,
    };
  });
}

/** Every request of the phase got a success. */
export const everyRequestOk = (min: number) => everyRequest(`symptom gone: every request succeeded (≥ ${min})`, { min }, isOk);

/**
 * The selected requests all went out on one downstream connection (one local port); with
 * `openedBefore`, a connection the app already used before that marker (a kept-alive one).
 */
export function oneConnection(label: string, sel: RequestSelection & { openedBefore?: Window['after'] }): Check {
  return check(label, (e) => {
    const rs = requestsIn(e, sel).filter(sel.where ?? (() => true));
    const ports = localPorts(rs);
    const earlier = sel.openedBefore ? localPorts(requestsIn(e, { before: sel.openedBefore })) : [];
    const pinned = ports.length === 1 && (!sel.openedBefore || earlier.includes(ports[0]!));
    return {
      pass: rs.length >= (sel.min ?? 1) && pinned,
      evidence: `${rs.length} request(s) on local port(s) ${ports.join(', ') || '(none)'}${sel.openedBefore ? `; before the ${sel.openedBefore} marker the app used ${earlier.join(', ') || '(none)'}` : ''}`,
    };
  });
}

/**
 * The app recovered on a new connection: its successes after `after` used none of the
 * connections (local ports) that failed, nor the kept-alive one it had before `keptAliveBefore`.
 */
export function recoveredOnNewConnection(sel: { keptAliveBefore: Window['after']; after: Window['after']; servedBy?: string }): Check {
  return check('the app recovered on a new connection (new local port)', (e) => {
    const keptAlive = localPorts(requestsIn(e, { before: sel.keptAliveBefore }));
    const failed = localPorts(e.timeline.requests().filter((r) => !isOk(r)));
    const ok = localPorts(requestsIn(e, { after: sel.after }).filter((r) => isOk(r) && (!sel.servedBy || r.servedBy === sel.servedBy)));
    const old = [...new Set([...keptAlive, ...failed])];
    return {
      pass: keptAlive.length > 0 && ok.length > 0 && ok.every((p) => !old.includes(p)),
      evidence: `before the ${sel.keptAliveBefore} marker the app used local port(s) ${keptAlive.join(', ') || '(none)'}; failing requests used ${failed.join(', ') || 'no socket'}; recovered requests used ${ok.join(', ') || '(none)'}`,
    };
  });
}

/** An upstream host served no request (in the window). */
export function servedNothing(label: string, host: string, w: Window = {}): Check {
  return check(label, (e) => {
    const total = e.served(host);
    const from = w.after ? e.markerAt(w.after) - e.timeline.startedAt : -Infinity;
    const n = e.timeline.entries.filter((x) => x.kind === 'served' && x.host === host && x.t > from).length;
    return { pass: n === 0, evidence: `${host} served ${n} request(s)${w.after ? ` after the ${w.after} marker (${total} in all)` : ''}` };
  });
}
