/**
 * One phase of a run as a report section: the verdict and every check with its evidence, the
 * timeline plot, connection lifetimes where how a connection ended matters, Envoy's access log,
 * the `ss` tables, the config as a diff against the incident's, and the counters that changed.
 */
import { readFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import type { AccessLogEntry } from '../../envoy/access-log.js';
import type { EvidenceData } from '../../evidence/evidence.js';
import { EVIDENCE_FILE } from '../../evidence/store.js';
import type { PhaseResult } from '../../scenario/run-phase.js';
import type { Scenario } from '../../scenario/scenario.js';
import { describePattern, isSignature } from '../../triage/signature.js';
import { MARKS } from '../../triage/clue.js';
import { triage } from '../../triage/triage.js';
import { Timeline } from '../../timeline/timeline.js';
import { STATUS_WORD } from '../verdict-text.js';
import { configDiffHtml } from './config-diff.js';
import { countersHtml } from './counters.js';
import { anchor, html, raw, type Html } from './html.js';
import { lifetimeSvg } from './lifetime-chart.js';
import { timelineSvg } from './timeline-chart.js';

const ACCESS_LOG_ROWS = 300;

export const phaseAnchor = (r: Pick<PhaseResult, 'phase' | 'iteration'>, repeat: number) => anchor('phase', r.phase, ...(repeat > 1 ? [r.iteration] : []));

async function loadEvidenceData(dir: string): Promise<EvidenceData | null> {
  return readFile(join(dir, EVIDENCE_FILE), 'utf8').then((t) => JSON.parse(t) as EvidenceData, () => null);
}

function checksHtml(r: PhaseResult): Html {
  if (r.verdicts.length === 0) return html``;
  return html`<table class="checks"><tr><th></th><th>check</th><th>evidence</th></tr>${r.verdicts.map(
    (v) => html`<tr class="${v.status}"><td class="mark">${v.status === 'pass' ? '✓' : v.status === 'fail' ? '✗' : '?'}</td><td>${v.status === 'unknown' ? 'UNKNOWN: ' : ''}${v.label}</td><td>${v.evidence}</td></tr>`,
  )}</table>`;
}

/** A sidecar's access log as a table (the pod's, or another pod's: world.peerSidecar). */
function accessLogHtml(e: EvidenceData, log: AccessLogEntry[] | null = e.accessLog): Html {
  if (log === null) return html`<p class="missing">Envoy's access log was missing at the end of the phase.</p>`;
  if (log.length === 0) return html`<p>Envoy logged nothing (no request or connection went through a logged listener).</p>`;
  const start = e.timeline.startedAt;
  const rows = log.slice(0, ACCESS_LOG_ROWS);
  const cell = (v: unknown) => html`<td>${v === undefined ? '' : String(v)}</td>`;
  return html`<table class="access-log"><tr><th>t (s)</th><th>kind</th><th>conn</th><th>code</th><th>flags</th><th>details</th><th>app (downstream)</th><th>original dst</th><th>upstream host</th><th>cluster</th><th>close</th><th>ms</th></tr>${rows.map(
    (a) =>
      html`<tr class="${a.flags ? 'flagged' : ''}">${cell(((Date.parse(a.ts) - start) / 1000).toFixed(2))}${cell(a.kind)}${cell(a.cx)}${cell(a.code)}${cell(a.flags)}${cell(a.details)}${cell(a.ds_remote)}${cell(a.ds_local)}${cell(a.up_host)}${cell(a.up_cluster)}${cell(a.ds_close ?? a.cx_term)}${cell(a.duration_ms)}</tr>`,
  )}</table>${log.length > ACCESS_LOG_ROWS ? html`<p>… ${log.length - ACCESS_LOG_ROWS} more entries in evidence.json.</p>` : ''}`;
}

function snapshotsHtml(e: EvidenceData): Html {
  const entries = Object.entries(e.snapshots);
  if (entries.length === 0) return html`<p>No connection table was taken in this phase.</p>`;
  return html`${entries.map(([label, table]) => html`<h4><code>ss -tanpo</code> in the pod: ${label}</h4><pre class="ss">${table}</pre>`)}`;
}

/** A before's triage signature (npm run lab -- triage), and whether this run's own access log matches it. */
function signatureHtml(scenario: Scenario, phaseName: string, e: EvidenceData | null): Html | string {
  const phase = scenario.phases.find((p) => p.name === phaseName);
  if (!phase || phase.kind !== 'before') return '';
  const sig = phase.signature;
  if (!isSignature(sig)) return html`<details><summary><h3>Triage signature</h3></summary><p>${sig ? `None: ${sig.none}` : 'None declared.'}</p></details>`;
  const own = e?.accessLog ? triage(e.accessLog, [scenario]).candidates.find((c) => c.phase === phaseName) : undefined;
  const verdict = !e?.accessLog ? 'no access log to hold against it' : own?.isMatch ? `this run's access log matches it (${own.matched} of ${own.total} entries)` : `this run's access log does not match it${own ? ` (${own.matched} entries matched the pattern; ${own.facts.filter((f) => f.holds === false).map((f) => f.says).join(', ') || 'fields missing'})` : ''}`;
  return html`<details><summary><h3>Triage signature</h3></summary><p>${sig.says}</p><p>${sig.entries ? html`entries: <code>${describePattern(sig.entries)}</code>` : ''}${(sig.marks ?? []).map((m) => html`; mark: ${MARKS[m]}`)}${(sig.facts ?? []).map((f) => html`; and ${f.says}`)}</p><p>${verdict}. <code>npm run lab -- triage &lt;access log&gt;</code> holds a pod's log against every scenario's.</p></details>`;
}

export interface PhaseSectionInput {
  scenario: Scenario;
  result: PhaseResult;
  repeat: number;
  /** Where report.html is written: links to the phase's files are relative to it. */
  reportDir: string;
}

export async function phaseSection({ scenario, result: r, repeat, reportDir }: PhaseSectionInput): Promise<Html> {
  const phase = scenario.phases.find((p) => p.name === r.phase);
  const baseline = scenario.phases.find((p) => p.kind === 'before')?.config ?? 'broken';
  const evidence = await loadEvidenceData(r.artifactsDir);
  const dir = relative(reportDir, r.artifactsDir) || '.';
  const title = html`<h2><span class="badge ${r.status}">${STATUS_WORD[r.status]}</span> ${r.phase}${repeat > 1 ? ` #${r.iteration}` : ''} <small>${r.kind}</small></h2><p class="phase-title">${r.title}</p>
    <p class="meta">Envoy ${r.envoyVersion} · ${r.backend} backend · ${(r.timings.wallMs / 1000).toFixed(1)} s · config <code>${r.configOverride ?? phase?.config ?? '?'}</code> · artifacts <a href="${dir}/">${basename(r.artifactsDir)}/</a></p>`;
  if (r.status === 'not-applicable') return html`<section id="${phaseAnchor(r, repeat)}" class="phase">${title}<p>${r.reason ?? ''}</p></section>`;

  const timeline = evidence ? Timeline.from(evidence.timeline) : undefined;
  const [plot, bars] = timeline && evidence ? await Promise.all([timelineSvg(timeline, evidence.accessLog), lifetimeSvg(timeline, evidence.accessLog)]) : [undefined, undefined];
  return html`<section id="${phaseAnchor(r, repeat)}" class="phase">${title}
    ${r.reason ? html`<p>${r.reason}</p>` : ''}${r.error ? html`<pre class="error">${r.error}</pre>` : ''}
    ${checksHtml(r)}
    ${evidence === null ? html`<p class="missing">No evidence.json in ${dir}: the lab stopped before it could collect (see the error above).</p>` : html`
    <h3>Timeline</h3>${plot ? html`<div class="chart timeline">${raw(plot)}</div>` : html`<p>Nothing happened on the timeline.</p>`}
    ${bars ? html`<h3>Connection lifetimes</h3><div class="chart lifetimes">${raw(bars)}</div>` : ''}
    <details open><summary><h3>Envoy access log</h3></summary>${accessLogHtml(evidence)}</details>
    ${evidence.peerSidecar ? html`<details open><summary><h3>The other pod's sidecar (${evidence.peerSidecar.host}): access log</h3></summary>${accessLogHtml(evidence, evidence.peerSidecar.accessLog)}</details>` : ''}
    <details><summary><h3>Connections (ss)</h3></summary>${snapshotsHtml(evidence)}</details>
    <details><summary><h3>Config against the incident's</h3></summary>${r.configOverride ? (/\/istio\/[^/]+\.yaml$/.test(r.configOverride) ? html`<p>Ran on what istiod generated from <code>${r.configOverride}</code> and pushed over ADS (--istio); each generation's config_dump is in <code>istiod/</code>.</p>` : html`<p>Ran against <code>${r.configOverride}</code> (--config), not the phase's own variant.</p>`) : phase ? await configDiffHtml(scenario.id, phase.config, baseline) : ''}</details>
    <details><summary><h3>Envoy counters that changed</h3></summary>${countersHtml(evidence.statsBefore, evidence.statsAfter)}</details>
    ${signatureHtml(scenario, r.phase, evidence)}`}
  </section>`;
}
