/**
 * npm run bench -- [scenario ...] [--repeat N] [--parallel N] [--envoy <version>] [--backend kind] [--out file.json]
 * Runs scenario phases and records where the time goes, per phase: topology up, Envoy start →
 * ready, the scenario's own scripted waits, teardown, and the lab's overhead (wall − scripted).
 * Targets on a 2-core machine: overhead < 1.5 s per phase on netns, < 4 s on docker (images present).
 * With --parallel N the same phases run twice in one invocation, one at a time and then N at once:
 * the speed-up is a ratio measured in the same run, and the verdicts of both passes are compared.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, release } from 'node:os';
import { join } from 'node:path';
import { resolveBackendKind } from '../backends/create-backend.js';
import { assertInstallable, ensureEnvoy } from '../envoy/install.js';
import { DEFAULT_ENVOY_VERSION } from '../envoy/version.js';
import { REPO_ROOT, RUNS_DIR } from '../paths.js';
import { stdoutColors as c } from '../report/colors.js';
import { statusText, textTable } from '../report/console.js';
import { assertScenarioPrerequisites } from '../scenario/prerequisites.js';
import { loadScenario, scenarioIds } from '../scenario/registry.js';
import type { PhaseResult } from '../scenario/run-phase.js';
import { runPhase } from '../scenario/run-phase.js';
import { runPool } from '../util/pool.js';
import { cliCommand, main, wholeNumber } from './main.js';
import { teardownOnSignals } from './signals.js';

const OVERHEAD_TARGET_MS = { netns: 1500, docker: 4000 };
let exitCode = 0;

const program = cliCommand('npm run bench --', 'Per-phase timings of scenario runs: lab overhead vs the scenario\'s own waits.')
  .argument('[scenario...]', 'scenarios to run (default: all)')
  .option('--repeat <N>', 'run each phase N times', wholeNumber(1, 50), 1)
  .option('--envoy <version>', 'Envoy version', DEFAULT_ENVOY_VERSION)
  .option('--backend <kind>', 'netns | docker | auto', 'auto')
  .option('--parallel <N>', 'also run the same phases N at once and report the speed-up', wholeNumber(1, 16), 1)
  .option('--out <file>', 'where to write the JSON (default bench-results/bench-<time>.json)')
  .action(async (ids: string[], o: { repeat: number; parallel: number; envoy: string; backend: string; out?: string }) => {
    const scenarios = await Promise.all((ids.length ? ids : scenarioIds()).map(loadScenario));
    await assertInstallable(o.envoy);
    const backend = await resolveBackendKind(o.backend, o.envoy);
    for (const s of scenarios) assertScenarioPrerequisites(s, backend);
    const target = OVERHEAD_TARGET_MS[backend];
    teardownOnSignals();
    const envoy = await ensureEnvoy(o.envoy, (l) => process.stderr.write(`${l}\n`));
    const machine = { cpus: cpus().length, kernel: release(), node: process.version };

    const runs = scenarios.flatMap((scenario) => scenario.phases.flatMap((phase) => Array.from({ length: o.repeat }, (_, k) => ({ scenario, phase, iteration: k + 1 }))));
    const runDir = join(RUNS_DIR, `${new Date().toISOString().replace(/[:.]/g, '-')}-bench`);
    const pass = async (parallel: number) => {
      const t0 = Date.now();
      process.stderr.write(`bench: ${runs.length} phase run(s), ${parallel} at a time\n`);
      const results = await runPool(runs, parallel, async ({ scenario, phase, iteration }) => {
        const r = await runPhase(scenario, phase, { envoy, backend, iteration, artifactsDir: join(runDir, `parallel-${parallel}`, scenario.id, `${phase.name}-${iteration}`) });
        process.stderr.write(`  ${scenario.id} ${phase.name}: ${statusText(r.status, c)} (${(r.timings.wallMs / 1000).toFixed(1)} s)\n`);
        return r;
      });
      return { results, totalMs: Date.now() - t0 };
    };
    const { results, totalMs } = await pass(1);
    const rows = results.map(row);
    const parallel = o.parallel > 1 ? await pass(o.parallel) : undefined;
    const sameVerdicts = parallel ? parallel.results.map((r, i) => [r, results[i]!] as const).filter(([a, b]) => a.status !== b.status).map(([a, b]) => `${a.scenario} ${a.phase}: ${b.status} serial, ${a.status} parallel`) : [];
    const file = o.out ?? join(REPO_ROOT, 'bench-results', `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    await mkdir(join(file, '..'), { recursive: true });
    const speedup = parallel && { parallel: o.parallel, serialMs: totalMs, parallelMs: parallel.totalMs, ratio: Number((totalMs / parallel.totalMs).toFixed(2)), worstOverheadMs: Math.max(...parallel.results.map((r) => row(r).overheadMs)), verdictsDiffer: sameVerdicts };
    await writeFile(file, JSON.stringify({ backend, envoy: envoy.banner, machine, repeat: o.repeat, totalMs, overheadTargetMs: target, phases: rows, speedup }, null, 2));

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
    if (speedup) {
      process.stdout.write(
        `parallel ${o.parallel}: ${(speedup.parallelMs / 1000).toFixed(1)} s vs ${(totalMs / 1000).toFixed(1)} s one at a time: speed-up ${speedup.ratio}× (same run); worst overhead ${speedup.worstOverheadMs} ms; verdicts ${sameVerdicts.length ? c.red(`differ: ${sameVerdicts.join('; ')}`) : 'identical'}\n`,
      );
    }
    exitCode = sameVerdicts.length ? 1 : 0;
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
