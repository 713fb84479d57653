/**
 * The phase's timeline as a picture: each request a dot over time, coloured by outcome, one lane
 * per downstream connection (a stuck connection is a line of red on one lane), its shape saying
 * which upstream served it; vertical rules for what the scenario did (fault, DNS switch, config
 * push, sidecar start); what agents observed (a fault firing, an idle close) as ticks on lanes
 * of their own. SVG mark classes name the layers (requests_marks, markers_marks, events_marks).
 */
import type { TopLevelSpec } from 'vega-lite';
import type { AccessLogEntry } from '../../envoy/access-log.js';
import type { Timeline } from '../../timeline/timeline.js';
import { outcomeColor, plottedRequests } from './outcomes.js';
import { renderSvg } from './svg.js';

/** Enough lanes of events to see the story; the rest are grouped so the plot stays readable. */
const MAX_EVENT_LANES = 6;

const MARKER_COLORS: Record<string, string> = { fault: '#d62728', dns: '#1f77b4', config: '#2ca02c', cds: '#2ca02c', rds: '#2ca02c', lds: '#2ca02c', sidecar: '#9467bd', note: '#7f7f7f' };

export function timelineSpec(timeline: Timeline, accessLog: AccessLogEntry[] | null): TopLevelSpec | undefined {
  const requests = plottedRequests(timeline.requests(), accessLog);
  const markers = timeline.markers().map((m) => ({ t: m.t / 1000, category: m.category, label: m.label }));
  const events = timeline.events();
  if (requests.length === 0 && markers.length === 0 && events.length === 0) return undefined;

  const eventKinds = [...new Set(events.map((e) => e.what))];
  const eventLane = (what: string) => (eventKinds.indexOf(what) < MAX_EVENT_LANES ? `event: ${what}` : 'other events');
  const eventRows = events.map((e) => ({ t: e.t / 1000, lane: eventLane(e.what), what: e.what, detail: e.detail.slice(0, 160), source: e.source }));
  const lanes = [...new Set([...requests.map((r) => r.lane), ...eventRows.map((e) => e.lane)])];
  const categories = [...new Set(markers.map((m) => m.category))];
  const outcomes = [...new Set(requests.map((r) => r.outcome))].sort();
  const y = { field: 'lane', type: 'nominal' as const, title: null, scale: { domain: lanes }, axis: { labelLimit: 220 } };
  const x = { field: 't', type: 'quantitative' as const, title: 'seconds since the phase started' };

  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: 860,
    height: Math.max(60, lanes.length * 22),
    padding: 8,
    config: { font: 'sans-serif', legend: { orient: 'bottom', columns: 4, labelLimit: 320 } },
    layer: [
      {
        name: 'markers',
        data: { values: markers },
        mark: { type: 'rule', strokeDash: [4, 3], strokeWidth: 1.5 },
        encoding: {
          x,
          stroke: { field: 'category', type: 'nominal', title: 'scenario did', scale: { domain: categories, range: categories.map((c) => MARKER_COLORS[c] ?? '#7f7f7f') } },
          tooltip: [{ field: 'category' }, { field: 'label' }, { field: 't', title: 's' }],
        },
      },
      {
        name: 'marker_labels',
        data: { values: markers },
        mark: { type: 'text', align: 'left', baseline: 'top', dx: 3, dy: -14, fontSize: 10, color: '#333' },
        encoding: { x, y: { value: 0 }, text: { field: 'category' } },
      },
      {
        name: 'events',
        data: { values: eventRows },
        mark: { type: 'tick', thickness: 2, color: '#555' },
        encoding: { x, y, tooltip: [{ field: 'what' }, { field: 'detail' }, { field: 'source' }, { field: 't', title: 's' }] },
      },
      {
        name: 'requests',
        data: { values: requests },
        mark: { type: 'point', filled: true, size: 60, opacity: 0.9 },
        encoding: {
          x,
          y,
          color: { field: 'outcome', type: 'nominal', title: 'outcome', scale: { domain: outcomes, range: outcomes.map(outcomeColor) } },
          shape: { field: 'servedBy', type: 'nominal', title: 'served by' },
          tooltip: [{ field: 'seq', title: 'request' }, { field: 'outcome' }, { field: 'servedBy', title: 'served by' }, { field: 'lane', title: 'connection' }, { field: 'latencyMs', title: 'latency ms' }, { field: 'what' }],
        },
      },
    ],
  } as TopLevelSpec;
}

export async function timelineSvg(timeline: Timeline, accessLog: AccessLogEntry[] | null): Promise<string | undefined> {
  const spec = timelineSpec(timeline, accessLog);
  return spec && renderSvg(spec);
}
