/**
 * npm run bench -- [scenario ...] [--repeat N] [--parallel N] [--envoy <version>] [--backend kind] [--out file.json]
 * Runs scenario phases and records where the time goes, per phase: topology up, Envoy start →
 * ready, the scenario's own scripted waits, teardown, and the lab's overhead (wall − scripted).
 * The same phases run twice in one invocation: one at a time, then packed as the machine's
 * scheduler packs them (or --parallel N at once). The speed-up and each scenario's packed wall
 * over its longest phase are ratios measured in the same run; the verdicts of both passes are
 * compared. Targets on a 2-core machine, packed: overhead < 1.0 s per phase on netns, < 1.5 s on docker.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, release } from 'node:os';
import { join } from 'node:path';
import { resolveBackendKind } from '../backends/create-backend.js';
import { assertInstallable, ensureEnvoy } from '../envoy/install.js';
import { DEFAULT_ENVOY_VERSION } from '../envoy/version.js';
import { PROJECT_ROOT, RUNS_DIR } from '../paths.js';
import { stdoutColors as c } from '../report/colors.js';
import { statusText, textTable } from '../report/console.js';
import { assertScenarioPrerequisites } from '../scenario/prerequisites.js';
import { loadScenario, scenarioIds } from '../scenario/registry.js';
import type { PhaseResult } from '../scenario/run-phase.js';
import { runPhase } from '../scenario/run-phase.js';
import { runScheduled, scheduleForRuns } from '../scheduler/run-scheduled.js';
import { median } from '../util/median.js';
import { cliCommand, main, wholeNumber } from './main.js';
import { teardownOnSignals } from './signals.js';

/** Lab overhead per phase (wall − the scenario's own waits) at the default parallelism, on a 2-core machine. */
const OVERHEAD_TARGET_MS = { netns: 1000, docker: 1500 };
let exitCode = 0;

const program = cliCommand('npm run bench --', "Per-phase timings of scenario runs (lab overhead vs the scenario's own waits), one at a time and then as the machine's scheduler packs them, in one run.")
  .argument('[scenario...]', 'scenarios to run (default: all)')
  .option('--repeat <N>', 'run each phase N times', wholeNumber(1, 50), 1)
  .option('--envoy <version>', 'Envoy version', DEFAULT_ENVOY_VERSION)
  .option('--backend <kind>', 'netns | docker | auto', 'auto')
  .option('--parallel <N>', "the second pass's runs at once (default: as many as this machine holds)", wholeNumber(1, 16))
  .option('--out <file>', 'where to write the JSON (default bench-results/bench-<time>.json)')
  .addHelpText('after', '\nExamples:\n  npm run bench -- sticky-503            # serial vs packed: the wall-to-longest-phase ratio\n  npm run bench -- --backend docker\n')
  .action(async (ids: string[], o: { repeat: number; parallel?: number; envoy: string; backend: string; out?: string }) => {
    const scenarios = await Promise.all((ids.length ? ids : scenarioIds()).map(loadScenario));
    await assertInstallable(o.envoy);
    const backend = await resolveBackendKind(o.backend, o.envoy);
    for (const s of scenarios) assertScenarioPrerequisites(s, backend);
    const target = OVERHEAD_TARGET_MS[backend];
    teardownOnSignals();
    const envoy = await ensureEnvoy(o.envoy, (l) => process.stderr.write(`${l}\n`));
    const machine = { cpus: cpus().length, kernel: release(), node: process.version };

    const runs = scenarios.flatMap((scenario) => scenario.phases.flatMap((phase) => Array.from({ length: o.repeat }, (_, k) => ({ of: scenario, phaseDef: phase, backend, scenario: scenario.id, phase: phase.name, load: phase.load, iteration: k + 1 }))));
    const runDir = join(RUNS_DIR, `${new Date().toISOString().replace(/[:.]/g, '-')}-bench`);
    const pass = async (name: string, parallel: number | undefined) => {
      const t0 = Date.now();
      const { width } = await scheduleForRuns(runs, parallel);
      process.stderr.write(`bench, ${name}: ${runs.length} phase run(s), ${parallel ? `${parallel} at a time` : `up to ${width} at a time (the machine's scheduler)`}\n`);
      const spans = new Map<string, { from: number; to: number }>();
      const results = await runScheduled(runs, parallel, async ({ of: scenario, phaseDef: phase, iteration }, schedule) => {
        const from = Date.now();
        const r = await runPhase(scenario, phase, { envoy, backend, iteration, artifactsDir: join(runDir, name, scenario.id, `${phase.name}-${iteration}`), forcedParallel: schedule.forced, teardownInBackground: schedule.background });
        const span = spans.get(scenario.id);
        spans.set(scenario.id, { from: Math.min(span?.from ?? from, from), to: Date.now() });
        process.stderr.write(`  ${scenario.id} ${phase.name}: ${statusText(r.status, c)} (${(r.timings.wallMs / 1000).toFixed(1)} s)\n`);
        return r;
      });
      return { results, totalMs: Date.now() - t0, width, spans };
    };
    const serial = await pass('serial', 1);
    const packed = await pass('packed', o.parallel);
    const rows = serial.results.map(row);
    const packedRows = packed.results.map(row);
    const sameVerdicts = packed.results.map((r, i) => [r, serial.results[i]!] as const).filter(([a, b]) => a.status !== b.status).map(([a, b]) => `${a.scenario} ${a.phase}: ${b.status} serial, ${a.status} packed`);
    // Per scenario: the packed wall from its first phase's start to its last one's end, over its longest phase.
    const perScenario = scenarios.map((s) => {
      const span = packed.spans.get(s.id)!;
      const longestMs = Math.max(...packed.results.filter((r) => r.scenario === s.id).map((r) => r.timings.wallMs));
      const serialMs = serial.results.filter((r) => r.scenario === s.id).reduce((t, r) => t + r.timings.wallMs, 0);
      return { scenario: s.id, serialMs, packedMs: span.to - span.from, longestPhaseMs: longestMs, wallOverLongest: Number(((span.to - span.from) / longestMs).toFixed(2)) };
    });
    const speedup = {
      width: packed.width,
      forced: o.parallel !== undefined,
      serialMs: serial.totalMs,
      packedMs: packed.totalMs,
      ratio: Number((serial.totalMs / packed.totalMs).toFixed(2)),
      // Over the phases that ran a lab: an N/A phase's 0 ms would pull the median down.
      overheadMs: { serialMedian: median(ran(rows).map((r) => r.overheadMs)), packedMedian: median(ran(packedRows).map((r) => r.overheadMs)), packedWorst: Math.max(...packedRows.map((r) => r.overheadMs)) },
      perScenario,
      verdictsDiffer: sameVerdicts,
    };
    const file = o.out ?? join(PROJECT_ROOT, 'bench-results', `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    await mkdir(join(file, '..'), { recursive: true });
    await writeFile(file, JSON.stringify({ backend, envoy: envoy.banner, machine, repeat: o.repeat, totalMs: serial.totalMs, overheadTargetMs: target, phases: rows, packedPhases: packedRows, speedup }, null, 2));

    const numeric = ['topologyUpMs', 'envoyReadyMs', 'scriptedMs', 'teardownMs', 'wallMs', 'overheadMs'] as const;
    const paint = (ms: number) => (ms < target ? c.green : c.red)(String(ms));
    const table = textTable(
      ['scenario', 'phase', 'status', ...numeric, 'packed overheadMs'],
      rows.map((r, i) => [r.scenario, r.phase, statusText(serial.results[i]!.status, c), ...numeric.map((k) => (k === 'overheadMs' ? paint(r.overheadMs) : String(r[k]))), paint(packedRows[i]!.overheadMs)]),
      c,
      ['left', 'left', 'left', ...numeric.map(() => 'right' as const), 'right'],
    );
    process.stdout.write(`${table}\n\n`);
    process.stdout.write(
      textTable(
        ['scenario', 'serial s', 'packed s', 'longest phase s', 'packed / longest'],
        perScenario.map((p) => [p.scenario, (p.serialMs / 1000).toFixed(1), (p.packedMs / 1000).toFixed(1), (p.longestPhaseMs / 1000).toFixed(1), `${p.wallOverLongest}×`]),
        c,
        ['left', 'right', 'right', 'right', 'right'],
      ) + '\n\n',
    );
    process.stdout.write(
      `one at a time: ${(serial.totalMs / 1000).toFixed(1)} s; packed (${speedup.forced ? `--parallel ${o.parallel}` : `up to ${packed.width} at once`}): ${(packed.totalMs / 1000).toFixed(1)} s; speed-up ${speedup.ratio}× (same run)\n` +
        `lab overhead per phase (target on ${backend} < ${target} ms, packed): median ${speedup.overheadMs.serialMedian} ms serial, ${speedup.overheadMs.packedMedian} ms packed, worst ${speedup.overheadMs.packedWorst} ms packed\n` +
        `verdicts ${sameVerdicts.length ? c.red(`differ: ${sameVerdicts.join('; ')}`) : 'identical in both passes'}; written to ${file}\n`,
    );
    process.stdout.write(`where the overhead goes, median ms per step (serial / packed): ${stepMedians(serial.results, packed.results)}\n`);
    exitCode = sameVerdicts.length ? 1 : 0;
  });

const ran = <T extends { status: string; wallMs: number }>(rows: T[]) => rows.filter((r) => r.status !== 'not-applicable' && r.wallMs > 0);

/** Each lab step's median over the phases that had it (StepClock's steps, then teardown). */
function stepMedians(serial: PhaseResult[], packed: PhaseResult[]): string {
  const stepsOf = (r: PhaseResult): Record<string, number> => ({ ...r.timings.steps, teardown: r.timings.teardownMs });
  const names = [...new Set(serial.filter((r) => r.timings.steps).flatMap((r) => Object.keys(stepsOf(r))))];
  const of = (rs: PhaseResult[], n: string) => median(rs.filter((r) => r.timings.steps && stepsOf(r)[n] !== undefined).map((r) => stepsOf(r)[n]!));
  return names.map((n) => `${n} ${of(serial, n)}/${of(packed, n)}`).join(', ');
}

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
    steps: t.steps,
  };
}

await main(program, () => exitCode);
