/**
 * An Envoy upgrade through the team's incidents: every phase of the chosen scenarios run on the
 * Envoy they have and on the one they upgrade to (a two-column matrix, same labs, same checks),
 * and each phase whose verdict differs between the two named. Envoy ships no list of its
 * behaviour changes the way Istio's compatibility profiles do: the phases are the list. A phase
 * is one change, `<scenario>/<phase>` in the --accept file.
 */
import { join } from 'node:path';
import type { BackendKind } from '../backends/backend.js';
import { runMatrix } from '../matrix/run-matrix.js';
import { cellWord, type MatrixEntry } from '../matrix/matrix-table.js';
import { planMatrix } from '../matrix/plan.js';
import type { Scenario } from '../scenario/scenario.js';
import { scenarioIds } from '../scenario/registry.js';

export interface EnvoySide {
  word: string;
  status: MatrixEntry['status'];
  reason?: string;
  artifactsDir: string;
}

export interface EnvoyPhaseChange {
  /** `<scenario>/<phase>`: what the --accept file names. */
  id: string;
  scenario: string;
  phase: string;
  kind: string;
  from: EnvoySide;
  to: EnvoySide;
  reproduce: string;
}

export interface EnvoyChanges {
  mode: 'envoy';
  from: string;
  to: string;
  backend: BackendKind;
  scenarios: string[];
  /** Phases whose verdict differs between the two Envoys. */
  changed: EnvoyPhaseChange[];
  /** Phases with the same verdict on both. */
  same: number;
  /** Where the runs' evidence and the two-column matrix (matrix.html) are. */
  matrixDir: string;
}

export async function envoyChanges(o: { scenarios: Scenario[]; from: string; to: string; backend: BackendKind; runDir: string; progress: (line: string) => void }): Promise<EnvoyChanges> {
  const matrixDir = join(o.runDir, 'matrix');
  const cells = planMatrix([o.from, o.to], o.scenarios, 1);
  const data = await runMatrix(cells, {
    versions: [o.from, o.to],
    scenarioOrder: scenarioIds(),
    backend: o.backend,
    runDir: matrixDir,
    progress: {
      line: o.progress,
      cellStart: () => {},
      cellEnd: (c, r, done, total) => o.progress(`  [${done}/${total}] Envoy ${c.version} ${c.scenario.id} ${c.phase.name}: ${cellWord({ kind: c.phase.kind, status: r.status })}`),
    },
  });
  // The matrix keys its columns by the version each binary reports (1.36.2.post1 is 1.36.2).
  const [fromColumn, toColumn] = data.versions;
  const side = (e: MatrixEntry | undefined): EnvoySide => (e ? { word: cellWord(e), status: e.status, ...(e.reason ? { reason: e.reason } : {}), artifactsDir: e.artifactsDir } : { word: 'not run', status: 'unknown', artifactsDir: '' });
  const changed: EnvoyPhaseChange[] = [];
  let same = 0;
  for (const s of o.scenarios) {
    for (const p of s.phases) {
      const at = (v: string | undefined) => data.entries.find((e) => e.scenario === s.id && e.phase === p.name && e.version === v);
      const from = side(at(fromColumn));
      const to = side(at(toColumn));
      if (from.word === to.word) same++;
      else changed.push({ id: `${s.id}/${p.name}`, scenario: s.id, phase: p.name, kind: p.kind, from, to, reproduce: `npm run scenario -- ${s.id} --phase ${p.name} --envoy ${o.from} (then --envoy ${o.to})` });
    }
  }
  return { mode: 'envoy', from: fromColumn ?? o.from, to: toColumn ?? o.to, backend: o.backend, scenarios: o.scenarios.map((s) => s.id), changed, same, matrixDir };
}
