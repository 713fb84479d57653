// report.html's parts on hand-made evidence: which outcome a request gets (the Envoy flag joined
// from the access log of the same connection), what the timeline plot draws, what a lifetime bar
// says, which counters are shown, that values are escaped, and where matrix cells link.
import { describe, expect, it } from 'vitest';
import type { AccessLogEntry } from '../../src/envoy/access-log.js';
import { matrixHtml } from '../../src/matrix/matrix-report.js';
import { changedCounters } from '../../src/report/html/counters.js';
import { html } from '../../src/report/html/html.js';
import { runReportHtml } from '../../src/report/html/run-report.js';
import { lifetimes } from '../../src/report/html/lifetime-chart.js';
import { plottedRequests } from '../../src/report/html/outcomes.js';
import { timelineSvg } from '../../src/report/html/timeline-chart.js';
import { Timeline } from '../../src/timeline/timeline.js';

const T0 = Date.parse('2026-11-30T10:00:00.000Z');
const log = (ms: number, port: number, code: number, flags?: string): AccessLogEntry => ({ ts: new Date(T0 + ms).toISOString(), kind: 'http', code, flags, ds_remote: `198.18.0.10:${port}` });

function stickyTimeline(): Timeline {
  const t = new Timeline(T0);
  t.add(T0 + 100, { kind: 'request', seq: 1, at: T0 + 100, latencyMs: 2, status: 200, localPort: 4001, servedBy: 'old' });
  t.add(T0 + 300, { kind: 'marker', category: 'fault', label: 'blackhole old' });
  t.add(T0 + 400, { kind: 'request', seq: 2, at: T0 + 400, latencyMs: 1000, status: 503, localPort: 4001 });
  t.add(T0 + 1500, { kind: 'marker', category: 'dns', label: 'DNS → new' });
  t.add(T0 + 1600, { kind: 'request', seq: 3, at: T0 + 1600, latencyMs: 1000, status: 503, localPort: 4001 });
  t.add(T0 + 2700, { kind: 'request', seq: 4, at: T0 + 2700, latencyMs: 3, error: 'ECONNRESET' });
  return t;
}

describe('report.html parts', () => {
  it('names each outcome with the Envoy flag of the same connection, and plots one lane per connection', () => {
    const rows = plottedRequests(stickyTimeline().requests(), [log(100, 4001, 200), log(400, 4001, 503, 'UF'), log(1600, 4001, 503, 'UF'), log(1600, 5000, 503, 'UC')]);
    expect(rows.map((r) => r.outcome)).toEqual(['200', '503 UF', '503 UF', 'no response: ECONNRESET']);
    expect(rows.map((r) => r.lane)).toEqual(['conn :4001', 'conn :4001', 'conn :4001', 'no connection']);
    expect(rows.map((r) => r.servedBy)).toEqual(['old', 'nobody', 'nobody', 'nobody']);
  });

  it('leaves the flag out when the access log has nothing for that connection (missing evidence is not invented)', () => {
    expect(plottedRequests(stickyTimeline().requests(), null).map((r) => r.outcome)).toEqual(['200', '503', '503', 'no response: ECONNRESET']);
  });

  it('draws every request as a dot and every marker as a rule, in SVG', async () => {
    const svg = (await timelineSvg(stickyTimeline(), [log(400, 4001, 503, 'UF')]))!;
    const dots = svg.split('requests_marks')[1]!.split('</g>')[0]!.match(/aria-label="[^"]*"/g)!;
    expect(dots).toHaveLength(4);
    expect(dots[1]).toContain('outcome: 503 UF');
    expect(svg.split('markers_marks')[1]!.split('</g>')[0]!.match(/<line/g)).toHaveLength(2);
    expect(svg).toContain('<title>'); // hover text in a browser
  });

  it('ends a lifetime bar at the observed close, with Envoy\'s close reason when it gave one', () => {
    const t = new Timeline(T0);
    t.add(T0 + 1000, { kind: 'request', seq: 1, at: T0 + 1000, latencyMs: 3004, ok: true, localPort: 7000, closedBy: 'fin', closedAfterIdleMs: 3004 });
    const bars = lifetimes(t.requests(), [{ ts: new Date(T0 + 1000).toISOString(), kind: 'tcp', ds_remote: '198.18.0.10:7000', ds_close: 'tcp_session_idle_timeout' }]);
    expect(bars).toEqual([{ lane: 'conn :7000', start: 1, end: 4.004, ended: 'FIN (orderly close)', who: 'Envoy: tcp_session_idle_timeout' }]);
  });

  it('lists the counters that changed, not the ones that stayed', () => {
    expect(changedCounters({ a: 1, b: 2 }, { a: 1, b: 5, c: 1 })).toEqual([{ name: 'b', before: 2, after: 5 }, { name: 'c', before: 0, after: 1 }]);
    expect(changedCounters({ a: 1 }, null)).toEqual([]);
  });

  it('escapes what it prints', () => {
    expect(html`<td>${'<script>"x"</script>'}</td>`.text).toBe('<td>&lt;script&gt;&quot;x&quot;&lt;/script&gt;</td>');
  });

  it("a team's own incident: no seed, a free-form source shown as text, a URL as a link", async () => {
    const scenario = { id: 'payments-503', title: 'Our 503s', symptom: 's', cause: 'c', timeScaling: 't', world: { upstreams: [], dns: {} }, phases: [] };
    const bare = await runReportHtml('/tmp', { scenario, results: [], repeat: 1, backend: 'netns', envoy: 'Envoy 1.40.0' });
    expect(bare).not.toMatch(/<dt>Seed<\/dt>|<dt>Reported<\/dt>/);
    const given = await runReportHtml('/tmp', { scenario: { ...scenario, reported: ['PM-2211 (postmortem, 2026-10-02)', 'https://example.invalid/pm/2211'] }, results: [], repeat: 1, backend: 'netns', envoy: 'Envoy 1.40.0' });
    expect(given).toContain('<dt>Reported</dt><dd>PM-2211 (postmortem, 2026-10-02), <a href="https://example.invalid/pm/2211">');
  });

  it('links each matrix cell to its phase in the report of its version and scenario', () => {
    const page = matrixHtml({ createdAt: 'now', backend: 'netns', versions: ['1.40.0'], entries: [{ scenario: 'sticky-503', phase: 'before', kind: 'before', version: '1.40.0', status: 'pass', runs: 1, good: 1, artifactsDir: '/runs/m/1.40.0/sticky-503/before' }] }, '/runs/m');
    expect(page).toContain('href="1.40.0/sticky-503/report.html#phase-before">reproduced</a>');
  });
});
