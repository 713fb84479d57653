/**
 * matrix.html: the version table as a page, each cell linking to the phase's section in the
 * report.html of its (version, scenario) directory, which this writes too.
 */
import { writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { anchor, html } from '../report/html/html.js';
import { page } from '../report/html/page.js';
import { phaseAnchor } from '../report/html/phase-section.js';
import { REPORT_FILE, writeRunReport } from '../report/html/run-report.js';
import { OK_STATUSES, type PhaseResult } from '../scenario/run-phase.js';
import type { Scenario } from '../scenario/scenario.js';
import { MATRIX_LEGEND, matrixRows, type MatrixData } from './matrix-table.js';

export const MATRIX_REPORT_FILE = 'matrix.html';

/** One report.html per (version, scenario) under the matrix run's directory. */
export async function writeCellReports(results: PhaseResult[], scenarios: Scenario[], backend: string): Promise<void> {
  const groups = new Map<string, PhaseResult[]>();
  // Grouped by where the phases' artifacts are (<run>/<wheel version>/<scenario>/), which is where matrix.html links.
  for (const r of results) groups.set(dirname(r.artifactsDir), [...(groups.get(dirname(r.artifactsDir)) ?? []), r]);
  for (const [dir, rs] of groups) {
    const scenario = scenarios.find((s) => s.id === rs[0]!.scenario);
    if (!scenario) continue;
    const repeat = Math.max(...rs.map((r) => r.iteration));
    await writeRunReport(dir, { scenario, results: rs, repeat, backend, envoy: `Envoy ${rs[0]!.envoyVersion}` });
  }
}

export function matrixHtml(data: MatrixData, outDir: string): string {
  const { versions, rows } = matrixRows(data);
  const body = html`<h1>Envoy version matrix</h1><p class="meta">${data.backend} backend · ${data.createdAt} · ${data.entries.length} cells</p>
    <table class="matrix"><tr><th>scenario phase</th>${versions.map((v) => html`<th>${v}</th>`)}</tr>${rows.map(
      ({ key, cells }) =>
        html`<tr id="${anchor(key)}"><td>${key}</td>${cells.map((c) => {
          if (!c.entry) return html`<td>-</td>`;
          const e = c.entry;
          const reportDir = join(e.artifactsDir, '..');
          const href = `${relative(outDir, join(reportDir, REPORT_FILE))}#${phaseAnchor({ phase: e.phase, iteration: 1 }, e.runs)}`;
          return html`<td class="${OK_STATUSES.includes(e.status) ? 'ok' : 'bad'}" title="${e.reason ?? ''}"><a href="${href}">${c.text}</a></td>`;
        })}</tr>`,
    )}</table><pre>${MATRIX_LEGEND}</pre>`;
  return page('Envoy version matrix — envoy-fault-lab', body);
}

export async function writeMatrixReport(outDir: string, data: MatrixData): Promise<string> {
  const file = join(outDir, MATRIX_REPORT_FILE);
  await writeFile(file, matrixHtml(data, outDir));
  return file;
}
