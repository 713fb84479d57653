/**
 * Helpers that slice a phase's evidence by time and describe it in words, so checks stay short
 * and their messages cite numbers. A slice relative to a marker the phase never set is missing
 * evidence (UNKNOWN), not an empty list.
 */
import type { AccessLogEntry } from '../envoy/access-log.js';
import type { Evidence } from '../evidence/evidence.js';
import type { MarkerCategory, RequestEntry } from '../timeline/timeline.js';

/** Where in the phase: after / before the first marker of a category, or the whole phase. */
export interface Window {
  after?: MarkerCategory;
  before?: MarkerCategory;
}

export const describeWindow = (w: Window = {}) =>
  [w.after && `after the ${w.after} marker`, w.before && `before the ${w.before} marker`].filter(Boolean).join(' and ') || 'in the whole phase';

/** Requests the app started inside the window (times relative to the phase start). */
export function requestsIn(e: Evidence, w: Window = {}): RequestEntry[] {
  const from = w.after ? e.markerAt(w.after) - e.timeline.startedAt : -Infinity;
  const to = w.before ? e.markerAt(w.before) - e.timeline.startedAt : Infinity;
  return e.timeline.requests().filter((r) => r.t >= from && r.t < to);
}

/** Access-log entries (of a kind) that started inside the window. */
/**
 * The stop's doing, not the incident's: what started while the lab had stopped the app's client
 * (from an `app stopped` event to the next `app started`), and a request the stop cut off (Envoy's
 * DC, downstream disconnect, on an entry still open when the stop came). A third-party client or
 * your --app command killed at the end of the traffic leaves Envoy exactly that.
 */
function whileStopped(e: Evidence): (at: number, a: AccessLogEntry) => boolean {
  const abs = (t: number) => e.timeline.startedAt + t;
  const starts = e.timeline.events('app started').map((s) => abs(s.t));
  const stops = e.timeline.events('app stopped').map((s) => abs(s.t));
  const windows = stops.map((from) => ({ from, to: starts.find((t) => t > from) ?? Infinity }));
  // Strictly after the stop: the lab notes it once the app's last request has completed, so an
  // entry that Envoy started in the same millisecond (its clock and the lab's tick in whole ms)
  // is that last request's. Seen in the suite: header-limits' third 431 logged at the stop's ms.
  return (at, a) => windows.some((w) => at > w.from && at < w.to) || (!!a.flags?.includes('DC') && stops.some((s) => s > at && s <= at + (a.duration_ms ?? 0) + 50));
}

/** `log`: another sidecar's access log (default: the pod's). */
export function accessIn(e: Evidence, w: Window = {}, kind?: 'http' | 'tcp', log: AccessLogEntry[] = e.accessLog): AccessLogEntry[] {
  const from = w.after ? e.markerAt(w.after) : -Infinity;
  const to = w.before ? e.markerAt(w.before) : Infinity;
  const stopped = whileStopped(e);
  return log.filter((a) => {
    const at = Date.parse(a.ts);
    return at >= from && at < to && (!kind || a.kind === kind) && !stopped(at, a);
  });
}

export const requestsAfter = (e: Evidence, category: MarkerCategory) => requestsIn(e, { after: category });
export const requestsBefore = (e: Evidence, category: MarkerCategory) => requestsIn(e, { before: category });
export const accessAfter = (e: Evidence, category: MarkerCategory, kind?: 'http' | 'tcp') => accessIn(e, { after: category }, kind);

/** Relative time (ms since the phase started) of the first marker of a category. */
export const markerT = (e: Evidence, category: MarkerCategory) => e.markerAt(category) - e.timeline.startedAt;

/** Succeeded: a non-error status and the whole response (a response cut off after its headers is not a success). */
export const isOk = (r: RequestEntry) => r.ok ?? (r.status !== undefined && r.status < 400 && !r.error);

/**
 * The app's own dialer gave up connecting, whoever plays the app: undici's UND_ERR_CONNECT_TIMEOUT,
 * or ECONNECT_TIMEOUT from the third-party clients (Go's dial timeout, curl's connect timeout).
 */
export const isConnectTimeout = (r: RequestEntry) => r.status === undefined && (r.error === 'UND_ERR_CONNECT_TIMEOUT' || r.error === 'ECONNECT_TIMEOUT');

/** "4× 503, 2× UND_ERR_SOCKET" */
export function outcomeCounts(rs: RequestEntry[]): string {
  const counts = new Map<string, number>();
  for (const r of rs) {
    const what = r.op ? `${r.op} ` : '';
    const frames = r.framesSent !== undefined ? ` (${r.framesEchoed}/${r.framesSent} frames echoed)` : '';
    const k = `${r.status !== undefined ? `${r.status}${r.servedBy ? ` from ${r.servedBy}` : ''}` : r.ok ? `${what}ok` : `${what}${r.error ?? 'error'}`}${frames}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${n}× ${k}`).join(', ') || 'none';
}

export function localPorts(rs: RequestEntry[]): number[] {
  return [...new Set(rs.map((r) => r.localPort).filter((p): p is number => p !== undefined))];
}

/** "503 UF upstream_reset_before_response_started{connection_timeout} → 198.18.7.21:80 (cx 3)" */
export function describeAccess(entries: AccessLogEntry[]): string {
  const counts = new Map<string, number>();
  for (const a of entries) {
    // mTLS: the peer's identity from its certificate, each side (absent on plaintext).
    const peers = [a.ds_peer && `from ${a.ds_peer}${a.ds_tls ? ` over ${a.ds_tls}` : ''}`, a.up_peer && `to ${a.up_peer}`].filter(Boolean).join(', ');
    const k = `${a.kind === 'tcp' ? 'tcp' : a.code} ${a.flags ?? '-'}${a.details ? ` ${a.details}` : ''} → ${a.up_cluster ?? '(no cluster)'} ${a.up_host ?? '(no upstream host)'}${peers ? ` (peer certificate ${peers})` : ''}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${n}× ${k}`).join('; ') || 'no entries';
}

/** Distinct values of a field, for evidence ("cx 3, 4"). */
export const distinct = <T>(xs: T[]): T[] => [...new Set(xs)];

/** The first request at or after `fromT` that succeeded, and how long after `fromT` it ended. */
export function firstSuccessAfter(rs: RequestEntry[], fromT: number, servedBy?: string): { r: RequestEntry; afterMs: number } | undefined {
  const r = rs.find((x) => x.t >= fromT && isOk(x) && (!servedBy || x.servedBy === servedBy));
  return r && { r, afterMs: r.t + r.latencyMs - fromT };
}
