/**
 * npm run bench -- [scenario ...] [--repeat N] [--envoy <version>] [--backend kind] [--out file.json]
 * Runs scenario phases and records where the time goes, per phase: topology up, Envoy start →
 * ready, the scenario's own scripted waits, teardown, and the lab's overhead (wall − scripted).
 * Targets on a 2-core machine: overhead < 1.5 s per phase on netns, < 4 s on docker (images present).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, release } from 'node:os';
import { join } from 'node:path';
import { resolveBackendKind } from '../backends/create-backend.js';
import { assertInstallable, ensureEnvoy } from '../envoy/install.js';
import { DEFAULT_ENVOY_VERSION } from '../envoy/version.js';
import { REPO_ROOT } from '../paths.js';
import { stdoutColors as c } from '../report/colors.js';
import { statusText, textTable } from '../report/console.js';
import { assertScenarioPrerequisites } from '../scenario/prerequisites.js';
import { loadScenario, scenarioIds } from '../scenario/registry.js';
import type { PhaseResult } from '../scenario/run-phase.js';
import { runScenario } from '../scenario/run-scenario.js';
import { cliCommand, main, wholeNumber } from './main.js';
import { teardownOnSignals } from './signals.js';

const OVERHEAD_TARGET_MS = { netns: 1500, docker: 4000 };
let exitCode = 0;

const program = cliCommand('npm run bench --', 'Per-phase timings of scenario runs: lab overhead vs the scenario\'s own waits.')
  .argument('[scenario...]', 'scenarios to run (default: all)')
  .option('--repeat <N>', 'run each phase N times', wholeNumber(1, 50), 1)
  .option('--envoy <version>', 'Envoy version', DEFAULT_ENVOY_VERSION)
  .option('--backend <kind>', 'netns | docker | auto', 'auto')
  .option('--out <file>', 'where to write the JSON (default bench-results/bench-<time>.json)')
  .action(async (ids: string[], o: { repeat: number; envoy: string; backend: string; out?: string }) => {
    const scenarios = await Promise.all((ids.length ? ids : scenarioIds()).map(loadScenario));
    await assertInstallable(o.envoy);
    const backend = await resolveBackendKind(o.backend, o.envoy);
    for (const s of scenarios) assertScenarioPrerequisites(s, backend);
    const target = OVERHEAD_TARGET_MS[backend];
    teardownOnSignals();
    const envoy = await ensureEnvoy(o.envoy, (l) => process.stderr.write(`${l}\n`));
    const machine = { cpus: cpus().length, kernel: release(), node: process.version };

    const results: PhaseResult[] = [];
    const started = Date.now();
    for (const scenario of scenarios) {
      process.stderr.write(`bench: ${scenario.id} (${scenario.phases.length} phases × ${o.repeat})\n`);
      results.push(...(await runScenario(scenario, { envoy, repeat: o.repeat, backend })).results);
    }
    const rows = results.map(row);
    const totalMs = Date.now() - started;
    const file = o.out ?? join(REPO_ROOT, 'bench-results', `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    await mkdir(join(file, '..'), { recursive: true });
    await writeFile(file, JSON.stringify({ backend, envoy: envoy.banner, machine, repeat: o.repeat, totalMs, overheadTargetMs: target, phases: rows }, null, 2));

    const numeric = ['topologyUpMs', 'envoyReadyMs', 'scriptedMs', 'teardownMs', 'wallMs', 'overheadMs'] as const;
    const table = textTable(
      ['scenario', 'phase', 'status', ...numeric],
      rows.map((r, i) => [r.scenario, r.phase, statusText(results[i]!.status, c), ...numeric.map((k) => (k === 'overheadMs' ? (r.overheadMs < target ? c.green : c.red)(String(r.overheadMs)) : String(r[k])))]),
      c,
      ['left', 'left', 'left', ...numeric.map(() => 'right' as const)],
    );
    process.stdout.write(`${table}\n`);
    const worst = Math.max(...rows.map((r) => r.overheadMs));
    process.stdout.write(`\nall phases: ${(totalMs / 1000).toFixed(1)} s; worst overhead ${worst} ms (target on ${backend}: < ${target} ms); written to ${file}\n`);
    exitCode = 0;
  });

function row(r: PhaseResult) {
  const t = r.timings;
  return {
    scenario: r.scenario,
    phase: r.iteration > 1 ? `${r.phase}#${r.iteration}` : r.phase,
    status: r.status,
    topologyUpMs: t.topologyUpMs,
    envoyReadyMs: t.envoyReadyMs,
    scriptedMs: t.scriptedMs,
    teardownMs: t.teardownMs,
    wallMs: t.wallMs,
    overheadMs: t.wallMs - t.scriptedMs,
  };
}

await main(program, () => exitCode);
