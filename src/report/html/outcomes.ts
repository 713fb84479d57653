/**
 * What the report plots for each request: its outcome as a person names it ("503 UF", "200",
 * "no response: ECONNRESET"), the connection it went out on, and who served it. The Envoy flag
 * comes from the access log entry of the same downstream connection (local port) closest in time,
 * so a 503 the router answered and a 503 the upstream sent are told apart.
 */
import type { AccessLogEntry } from '../../envoy/access-log.js';
import type { RequestEntry } from '../../timeline/timeline.js';

export interface PlottedRequest {
  /** Seconds since the phase started. */
  t: number;
  seq: number;
  /** One lane per downstream connection: a stuck connection is one line of red. */
  lane: string;
  outcome: string;
  servedBy: string;
  latencyMs: number;
  what: string;
}

const portOf = (address?: string): number | undefined => {
  const m = /:(\d+)$/.exec(address ?? '');
  return m ? Number(m[1]) : undefined;
};

/** The connection a request used, as a lane name. */
export function laneOf(r: RequestEntry): string {
  if (r.localPort) return `conn :${r.localPort}`;
  if (r.clientId !== undefined) return `client id ${r.clientId}`;
  return 'no connection';
}

/** The access log entry Envoy wrote for this request: same app port, nearest start time. */
export function accessEntryFor(r: RequestEntry, log: AccessLogEntry[] | null): AccessLogEntry | undefined {
  if (!log || !r.localPort) return undefined;
  let best: AccessLogEntry | undefined;
  let bestGap = Infinity;
  for (const e of log) {
    if (portOf(e.ds_remote) !== r.localPort) continue;
    const gap = Math.abs(Date.parse(e.ts) - r.at);
    if (gap < bestGap) [best, bestGap] = [e, gap];
  }
  return bestGap <= Math.max(2000, r.latencyMs + 1000) ? best : undefined;
}

export function outcomeOf(r: RequestEntry, entry?: AccessLogEntry): string {
  if (r.status !== undefined) {
    const flags = entry?.code === r.status && entry.flags ? ` ${entry.flags}` : '';
    return `${r.status}${flags}`;
  }
  if (r.error) return `no response: ${r.error}`;
  if (r.ok !== undefined) return r.ok ? 'ok' : 'failed';
  return 'unknown';
}

export function plottedRequests(requests: RequestEntry[], log: AccessLogEntry[] | null): PlottedRequest[] {
  return requests.map((r) => ({
    t: r.t / 1000,
    seq: r.seq,
    lane: laneOf(r),
    outcome: outcomeOf(r, accessEntryFor(r, log)),
    servedBy: r.servedBy ?? (r.status !== undefined || r.error ? 'nobody' : 'not recorded'),
    latencyMs: r.latencyMs,
    what: r.op ?? (r.status !== undefined ? 'HTTP request' : 'request'),
  }));
}

/** Green for success, reds for 5xx (each Envoy flag its own), amber for 4xx, purple for no answer. */
export function outcomeColor(outcome: string): string {
  if (outcome === 'ok' || /^2\d\d/.test(outcome)) return '#2e9d4a';
  if (/^503 UF/.test(outcome)) return '#d62728';
  if (/^503 UC/.test(outcome)) return '#ff7f0e';
  if (/^503 NC/.test(outcome)) return '#c2185b';
  if (/^5\d\d/.test(outcome) || outcome === 'failed') return '#8c1c13';
  if (/^4\d\d/.test(outcome)) return '#d4a017';
  if (outcome.startsWith('no response')) return '#6a3d9a';
  return '#7f7f7f';
}
