/**
 * The matrix as a person reads it: rows = scenario phases, columns = Envoy versions (or, with
 * --istio, the Istios that generate the configs, on one Envoy), each cell
 * what happened there in words (reproduced, fixed, gone, n/a, FAIL, …), N/N across repeats, and
 * a mark where a cell differs from the version before it. matrix.json is the same data.
 */
import type { PhaseResult, PhaseStatus } from '../scenario/run-phase.js';
import { OK_STATUSES } from '../scenario/run-phase.js';
import { compareVersions } from '../envoy/version.js';
import { compareIstioVersions } from '../istio/istio-version.js';
import { textTable } from '../report/console.js';
import type { Colors } from '../report/colors.js';

export interface MatrixEntry {
  scenario: string;
  phase: string;
  kind: string;
  version: string;
  status: PhaseStatus;
  runs: number;
  good: number;
  reason?: string;
  artifactsDir: string;
  /** Where the row goes: scenarios in the order run, phases in their scenario's order. */
  position?: number;
}

export interface MatrixData {
  createdAt: string;
  backend: string;
  /** What the columns are: Envoy versions (default), or Istio versions on one Envoy (--istio). */
  axis?: 'envoy' | 'istio';
  versions: string[];
  entries: MatrixEntry[];
}

/** Columns in their order: Envoy's semver, or an Istio pseudo-version's commit time. */
export const columnOrder = (axis: MatrixData['axis']) => (axis === 'istio' ? compareIstioVersions : compareVersions);

/** One entry per (scenario, phase, column): repeats folded, N/N required. A result's column is its Envoy's version unless `columnOf` says otherwise. */
export function foldResults(results: PhaseResult[], columnOf: (r: PhaseResult) => string = (r) => r.envoyVersion): MatrixEntry[] {
  const groups = new Map<string, PhaseResult[]>();
  for (const r of results) {
    const key = `${r.scenario}\u0000${r.phase}\u0000${columnOf(r)}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((rs) => {
    const first = rs[0]!;
    const good = rs.filter((r) => OK_STATUSES.includes(r.status)).length;
    const bad = rs.find((r) => !OK_STATUSES.includes(r.status));
    const status = bad ? bad.status : rs.some((r) => r.status === 'gone') ? 'gone' : first.status;
    return { scenario: first.scenario, phase: first.phase, kind: first.kind, version: columnOf(first), status, runs: rs.length, good, reason: first.reason ?? bad?.verdicts.find((v) => v.status !== 'pass')?.label, artifactsDir: first.artifactsDir };
  });
}

/** What a cell says: the phase's verdict in the words of its kind. */
export function cellWord(e: Pick<MatrixEntry, 'kind' | 'status'>): string {
  if (e.status === 'pass') return { before: 'reproduced', fix: 'fixed', live: 'fixed live', control: 'holds', measure: 'measured' }[e.kind] ?? 'pass';
  return { gone: 'gone', 'not-applicable': 'n/a', fail: 'FAIL', error: 'ERROR', unknown: 'UNKNOWN' }[e.status as string] ?? e.status;
}

export const MATRIX_LEGEND = [
  'reproduced  the documented symptom, its mechanism and the fault were all shown (before)',
  'fixed       the symptom was gone and the fix path exercised (fix, live: "fixed live")',
  'holds / measured   a control showed a non-fix failing; a measurement was taken',
  'gone        the documented symptom no longer happens on this version, with proof its trigger was applied',
  'n/a         the phase needs another Envoy (or Istio) version, or has no Istio YAML under --istio (its reason is in matrix.json)',
  'FAIL / ERROR / UNKNOWN   not as documented / the lab failed / evidence was missing',
  '*           differs from the version to its left',
].join('\n');

/** One table cell: the entry (absent: not run), its word, and whether it differs from the version to its left. */
export interface MatrixCellView {
  entry?: MatrixEntry;
  text: string;
  changed: boolean;
}

/** Rows in scenario and phase order, one cell per version (oldest first): shared by the terminal and HTML tables. */
export function matrixRows(data: MatrixData): { versions: string[]; rows: Array<{ key: string; cells: MatrixCellView[] }> } {
  const versions = [...data.versions].sort(columnOrder(data.axis));
  const rows = new Map<string, Map<string, MatrixEntry>>();
  for (const e of [...data.entries].sort((a, b) => (a.position ?? 0) - (b.position ?? 0))) {
    const key = `${e.scenario} ${e.phase}`;
    if (!rows.has(key)) rows.set(key, new Map());
    rows.get(key)!.set(e.version, e);
  }
  return {
    versions,
    rows: [...rows.entries()].map(([key, byVersion]) => {
      let previous: string | undefined;
      const cells = versions.map((v): MatrixCellView => {
        const entry = byVersion.get(v);
        if (!entry) return { text: '-', changed: false };
        const word = cellWord(entry);
        const changed = previous !== undefined && previous !== word;
        previous = word;
        const runs = entry.runs > 1 && entry.status !== 'not-applicable' ? ` ${entry.good}/${entry.runs}` : '';
        return { entry, text: `${word}${runs}${changed ? ' *' : ''}`, changed };
      });
      return { key, cells };
    }),
  };
}

export function matrixTable(data: MatrixData, c: Colors): string {
  const paint = (e: MatrixEntry, text: string) => (e.status === 'pass' ? c.green : e.status === 'gone' ? c.cyan : e.status === 'not-applicable' ? c.yellow : c.red)(text);
  const { versions, rows } = matrixRows(data);
  const body = rows.map(({ key, cells }) => [key, ...cells.map((cell) => (cell.entry ? paint(cell.entry, cell.text) : c.dim(cell.text)))]);
  return textTable(['scenario phase', ...versions], body, c);
}

/** Exit 0 iff every cell is what its scenario declares for that version. */
export const matrixAsDeclared = (data: MatrixData) => data.entries.every((e) => OK_STATUSES.includes(e.status));

/** Several shards' matrix.json into one (a cell appears in exactly one shard). */
export function mergeMatrices(parts: MatrixData[]): MatrixData {
  const entries = new Map<string, MatrixEntry>();
  for (const p of parts) for (const e of p.entries) entries.set(`${e.scenario} ${e.phase} ${e.version}`, e);
  return {
    createdAt: new Date().toISOString(),
    backend: [...new Set(parts.map((p) => p.backend))].join(','),
    axis: parts[0]?.axis,
    versions: [...new Set(parts.flatMap((p) => p.versions))].sort(columnOrder(parts[0]?.axis)),
    entries: [...entries.values()],
  };
}
