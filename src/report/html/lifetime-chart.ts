/**
 * Connection lifetimes for the phases where how a connection ended is the story (idle-timeout and
 * its kin): one bar per connection from its first use to its close, coloured by how it ended (FIN,
 * RST, still open) and labelled with who closed it when Envoy says so (its access log's close
 * reason on the same app port).
 */
import type { TopLevelSpec } from 'vega-lite';
import type { AccessLogEntry } from '../../envoy/access-log.js';
import type { RequestEntry, Timeline } from '../../timeline/timeline.js';
import { laneOf } from './outcomes.js';
import { renderSvg } from './svg.js';

export interface Lifetime {
  lane: string;
  start: number;
  end: number;
  ended: string;
  who: string;
}

const ENDED: Record<string, string> = { fin: 'FIN (orderly close)', rst: 'RST (reset)', 'still-open': 'still open at the end' };

function whoClosed(port: number | undefined, log: AccessLogEntry[] | null): string | undefined {
  // A TCP connection's entry, or a WebSocket's (its 101 is logged when the connection ends).
  const entry = log?.find((e) => (e.kind === 'tcp' || e.code === 101) && port !== undefined && e.ds_remote?.endsWith(`:${port}`));
  // Envoy's close reason: the TCP proxy's, or for an upgraded stream its details when Envoy ended it (DC).
  const reason = entry?.ds_close ?? entry?.cx_term ?? (entry?.flags?.includes('DC') ? entry.details : undefined);
  return reason ? `Envoy: ${reason}` : undefined;
}

/** When it closed, as the client measured it: after an idle gap (a probe), or after how long open (a WebSocket); nothing rather than a guess. */
const sinceWhat = (r: RequestEntry) => (r.closedAfterIdleMs !== undefined ? `after ${r.closedAfterIdleMs} ms idle` : r.closedAfterMs !== undefined ? `after ${r.closedAfterMs} ms open` : '');

/** Only connections whose end was observed (a probe that waited for the close) get a bar. */
export function lifetimes(requests: RequestEntry[], log: AccessLogEntry[] | null): Lifetime[] {
  return requests
    .filter((r) => r.closedBy !== undefined)
    .map((r) => {
      const lane = laneOf(r);
      const sameConnection = requests.filter((o) => laneOf(o) === lane);
      const start = Math.min(...sameConnection.map((o) => o.t)) / 1000;
      return {
        lane,
        start,
        end: (r.t + r.latencyMs) / 1000,
        ended: ENDED[r.closedBy!] ?? r.closedBy!,
        who: whoClosed(r.localPort, log) ?? (r.closedBy === 'still-open' ? '' : sinceWhat(r)),
      };
    });
}

export async function lifetimeSvg(timeline: Timeline, log: AccessLogEntry[] | null): Promise<string | undefined> {
  const rows = lifetimes(timeline.requests(), log);
  if (rows.length === 0) return undefined;
  const x = { field: 'start', type: 'quantitative' as const, title: 'seconds since the phase started' };
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: 860,
    height: Math.max(40, rows.length * 26),
    padding: 8,
    config: { font: 'sans-serif', legend: { orient: 'bottom', labelLimit: 320 } },
    data: { values: rows },
    encoding: { y: { field: 'lane', type: 'nominal', title: null } },
    layer: [
      {
        name: 'lifetimes',
        mark: { type: 'bar', height: 14 },
        encoding: {
          x,
          x2: { field: 'end' },
          color: { field: 'ended', type: 'nominal', title: 'how it ended', scale: { domain: Object.values(ENDED), range: ['#1f77b4', '#d62728', '#bbbbbb'] } },
          tooltip: [{ field: 'lane', title: 'connection' }, { field: 'ended' }, { field: 'who', title: 'who / when' }, { field: 'start', title: 'from s' }, { field: 'end', title: 'to s' }],
        },
      },
      { name: 'lifetime_labels', mark: { type: 'text', align: 'left', dx: 4, fontSize: 11 }, encoding: { x: { field: 'end', type: 'quantitative' }, text: { field: 'who' } } },
    ],
  } as TopLevelSpec;
  return renderSvg(spec);
}
