/**
 * report.html for one run: the incident (symptom, cause, how time was scaled), a verdict table
 * linking to each phase, then every phase as its own section (phase-section.ts).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PhaseResult } from '../../scenario/run-phase.js';
import type { Scenario } from '../../scenario/scenario.js';
import { STATUS_WORD } from '../verdict-text.js';
import { html } from './html.js';
import { page } from './page.js';
import { phaseAnchor, phaseSection } from './phase-section.js';

export const REPORT_FILE = 'report.html';

export interface RunReportInput {
  scenario: Scenario;
  results: PhaseResult[];
  repeat: number;
  backend: string;
  envoy: string;
}

export async function runReportHtml(runDir: string, o: RunReportInput): Promise<string> {
  const s = o.scenario;
  const sections = [];
  for (const result of o.results) sections.push(await phaseSection({ scenario: s, result, repeat: o.repeat, reportDir: runDir }));
  const body = html`<h1>${s.id}: ${s.title}</h1>
    <p class="meta" title="${o.envoy}">Envoy ${o.results[0]?.envoyVersion ?? '?'} · ${o.backend} backend · ${new Date().toISOString()}</p>
    <dl><dt>Symptom</dt><dd>${s.symptom}</dd><dt>Cause</dt><dd>${s.cause}</dd><dt>Time scaling</dt><dd>${s.timeScaling}</dd>
    ${s.seed ? html`<dt>Seed</dt><dd>${s.seed}</dd>` : ''}${s.reported?.length ? html`<dt>Reported</dt><dd>${[s.reported].flat().map((u, i) => html`${i ? ', ' : ''}${/^https?:\/\//.test(u) ? html`<a href="${u}">${u.replace('https://github.com/', '')}</a>` : u}`)}</dd>` : ''}</dl>
    <table class="summary"><tr><th>phase</th><th>kind</th><th>verdict</th><th>what it shows</th></tr>${o.results.map(
      (r) => html`<tr><td><a href="#${phaseAnchor(r, o.repeat)}">${r.phase}${o.repeat > 1 ? ` #${r.iteration}` : ''}</a></td><td>${r.kind}</td><td><span class="badge ${r.status}">${STATUS_WORD[r.status]}</span></td><td>${r.title}</td></tr>`,
    )}</table>
    ${sections}`;
  return page(`${s.id} — envoy-fault-lab`, body);
}

export async function writeRunReport(runDir: string, o: RunReportInput): Promise<string> {
  const file = join(runDir, REPORT_FILE);
  await writeFile(file, await runReportHtml(runDir, o));
  return file;
}
