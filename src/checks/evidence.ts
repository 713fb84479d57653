/**
 * Helpers that slice a phase's evidence by time and describe it in words, so scenario checks
 * stay short and their messages cite numbers.
 */
import type { AccessLogEntry } from '../envoy/access-log.js';
import type { MarkerCategory, RequestEntry } from '../timeline/timeline.js';
import type { PhaseEvidence } from './check.js';

/** Absolute time of the first marker of a category; throws if the scenario never set it. */
export function markerAt(e: PhaseEvidence, category: MarkerCategory): number {
  const m = e.timeline.marker(category);
  if (!m) throw new Error(`the timeline has no "${category}" marker`);
  return e.timeline.startedAt + m.t;
}

/** Requests the app started after the first marker of a category. */
export function requestsAfter(e: PhaseEvidence, category: MarkerCategory): RequestEntry[] {
  const at = markerAt(e, category) - e.timeline.startedAt;
  return e.timeline.requests().filter((r) => r.t >= at);
}

/** Requests started before the first marker of a category. */
export function requestsBefore(e: PhaseEvidence, category: MarkerCategory): RequestEntry[] {
  const at = markerAt(e, category) - e.timeline.startedAt;
  return e.timeline.requests().filter((r) => r.t < at);
}

/** Access-log entries (of a kind) that started after the first marker of a category. */
export function accessAfter(e: PhaseEvidence, category: MarkerCategory, kind?: 'http' | 'tcp'): AccessLogEntry[] {
  const at = markerAt(e, category);
  return e.accessLog.filter((a) => Date.parse(a.ts) >= at && (!kind || a.kind === kind));
}

export const isOk = (r: RequestEntry) => r.ok ?? (r.status !== undefined && r.status < 400);

/** "4× 503, 2× UND_ERR_SOCKET" */
export function outcomeCounts(rs: RequestEntry[]): string {
  const counts = new Map<string, number>();
  for (const r of rs) {
    const what = r.op ? `${r.op} ` : '';
    const k = r.status !== undefined ? `${r.status}${r.servedBy ? ` from ${r.servedBy}` : ''}` : r.ok ? `${what}ok` : `${what}${r.error ?? 'error'}`;
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
    const k = `${a.kind === 'tcp' ? 'tcp' : a.code} ${a.flags ?? '-'}${a.details ? ` ${a.details}` : ''} → ${a.up_cluster ?? '?'} ${a.up_host ?? a.ds_local ?? '?'}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${n}× ${k}`).join('; ') || 'no entries';
}

/** The first request at or after `fromT` that succeeded, and how long after `fromT` it started. */
export function firstSuccessAfter(rs: RequestEntry[], fromT: number, servedBy?: string): { r: RequestEntry; afterMs: number } | undefined {
  const r = rs.find((x) => x.t >= fromT && isOk(x) && (!servedBy || x.servedBy === servedBy));
  return r && { r, afterMs: r.t + r.latencyMs - fromT };
}
