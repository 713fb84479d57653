/**
 * Runs a scenario's phases (optionally a subset, each `repeat` times, N/N required), each in its
 * own lab under .lab-runs/<time>-<scenario>/<phase>[-<i>]/, one after another or `parallel` at once. The run's summary files (result.json,
 * junit.xml) are written by report/run-files.ts.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { RUNS_DIR } from '../paths.js';
import { runScheduled } from '../scheduler/run-scheduled.js';
import { phaseLoadKey } from '../scheduler/phase-load.js';
import { runPhase, type PhaseResult, type RunPhaseOptions } from './run-phase.js';
import type { Phase, Scenario } from './scenario.js';

/** Progress of one phase run; with --parallel several are under way at once. */
export interface PhaseReporter {
  step(line: string): void;
  end(result: PhaseResult): void;
}

export interface RunReporter {
  start(phase: Phase, iteration: number, repeat: number): PhaseReporter;
}

/** What every phase run gets as it is (RunPhaseOptions), plus the run's own choices. */
type PassedToPhases = 'envoy' | 'keep' | 'backend' | 'appCommand' | 'narrator' | 'httpClient' | 'configPath' | 'appImage' | 'appOnly' | 'istio';

export interface RunScenarioOptions extends Pick<RunPhaseOptions, PassedToPhases> {
  phases?: string[];
  repeat?: number;
  reporter?: RunReporter;
  /** Defaults to .lab-runs/<time>-<scenario>. */
  runDir?: string;
  /** Phase runs in separate labs at the same time; default: what the machine holds (scheduler/). */
  parallel?: number;
}

/** The phases to run; an unknown name is a usage error listing the scenario's phases. */
export function selectPhases(scenario: Scenario, names?: string[]): Phase[] {
  if (!names?.length) return scenario.phases;
  const known = scenario.phases.map((p) => p.name);
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length) throw new UsageError(`scenario ${scenario.id} has no phase ${unknown.map((n) => `"${n}"`).join(', ')}`, { fix: `its phases: ${known.join(', ')}` });
  return scenario.phases.filter((p) => names.includes(p.name));
}

export function defaultRunDir(scenarioId: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').replace(/Z$/, '');
  return join(RUNS_DIR, `${stamp}-${scenarioId}`);
}

export async function runScenario(scenario: Scenario, o: RunScenarioOptions): Promise<{ results: PhaseResult[]; runDir: string }> {
  const phases = selectPhases(scenario, o.phases);
  const repeat = o.repeat ?? 1;
  const runDir = o.runDir ?? defaultRunDir(scenario.id);
  await mkdir(runDir, { recursive: true });
  // A person watching (workshop mode) or poking (--keep) follows one phase at a time.
  if (o.narrator || o.keep) o = { ...o, parallel: 1 };
  if (o.narrator && (o.parallel ?? 1) > 1) throw new UsageError('--narrate and --step tell one phase at a time: they cannot run with --parallel', { fix: 'drop --parallel' });
  if (o.keep && (o.parallel ?? 1) > 1) throw new UsageError('--keep pauses each phase for you to poke at: it cannot run with --parallel', { fix: 'drop --parallel (or --keep)' });
  const { phases: _phases, repeat: _repeat, reporter: _reporter, runDir: _runDir, parallel: _parallel, ...toPhases } = o; // the rest goes to every phase as is
  const backend = o.backend ?? 'netns';
  const runs = phases.flatMap((phase) =>
    Array.from({ length: repeat }, (_, k) => ({ backend, scenario: scenario.id, phase: phaseLoadKey(phase.name, { istio: o.istio, client: o.httpClient?.impl }), load: phase.load, of: phase, i: k + 1 })),
  );
  const results = await runScheduled(runs, o.parallel, async ({ of: phase, i }, schedule) => {
    const progress = o.reporter?.start(phase, i, repeat);
    const artifactsDir = join(runDir, repeat > 1 ? `${phase.name}-${i}` : phase.name);
    const result = await runPhase(scenario, phase, { ...toPhases, artifactsDir, iteration: i, log: progress?.step.bind(progress), forcedParallel: schedule.forced, teardownInBackground: schedule.background });
    progress?.end(result);
    return result;
  });
  return { results, runDir };
}
