/**
 * Runs a scenario's phases (optionally a subset, each `repeat` times, N/N required), each in its
 * own lab under .lab-runs/<time>-<scenario>/<phase>[-<i>]/, one after another or `parallel` at once. The run's summary files (result.json,
 * junit.xml) are written by report/run-files.ts.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackendKind } from '../backends/backend.js';
import type { EnvoyBinary } from '../envoy/install.js';
import { UsageError } from '../errors.js';
import { RUNS_DIR } from '../paths.js';
import { runPool } from '../util/pool.js';
import type { HttpClientChoice } from '../lab/app-client.js';
import type { PhaseNarrator } from './phase-narrator.js';
import { runPhase, type PhaseResult } from './run-phase.js';
import type { Phase, Scenario } from './scenario.js';

/** Progress of one phase run; with --parallel several are under way at once. */
export interface PhaseReporter {
  step(line: string): void;
  end(result: PhaseResult): void;
}

export interface RunReporter {
  start(phase: Phase, iteration: number, repeat: number): PhaseReporter;
}

export interface RunScenarioOptions {
  envoy: EnvoyBinary;
  phases?: string[];
  repeat?: number;
  reporter?: RunReporter;
  /** Defaults to .lab-runs/<time>-<scenario>. */
  runDir?: string;
  /** Pause each phase after its traffic with the lab up (--keep). */
  keep?: boolean;
  backend?: BackendKind;
  /** Phase runs in separate labs at the same time (default 1: one after another). */
  parallel?: number;
  /** The user's own client, run as the app in the pod during every phase (--app). */
  appCommand?: string;
  /** Workshop mode (--narrate, --step): phases one after another, each told step by step. */
  narrator?: PhaseNarrator;
  /** --client: the program that plays the app in every phase. */
  httpClient?: HttpClientChoice;
  /** --config: every phase runs against this config file instead of its own variant. */
  configPath?: string;
  appImage?: string;
  appOnly?: boolean;
  istio?: boolean;
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
  if (o.narrator && (o.parallel ?? 1) > 1) throw new UsageError('--narrate and --step tell one phase at a time: they cannot run with --parallel', { fix: 'drop --parallel' });
  if (o.keep && (o.parallel ?? 1) > 1) throw new UsageError('--keep pauses each phase for you to poke at: it cannot run with --parallel', { fix: 'drop --parallel (or --keep)' });
  const runs = phases.flatMap((phase) => Array.from({ length: repeat }, (_, k) => ({ phase, i: k + 1 })));
  const results = await runPool(runs, o.parallel ?? 1, async ({ phase, i }) => {
    const progress = o.reporter?.start(phase, i, repeat);
    const artifactsDir = join(runDir, repeat > 1 ? `${phase.name}-${i}` : phase.name);
    const result = await runPhase(scenario, phase, { envoy: o.envoy, artifactsDir, iteration: i, log: progress?.step.bind(progress), keep: o.keep, backend: o.backend, appCommand: o.appCommand, narrator: o.narrator, httpClient: o.httpClient, configPath: o.configPath, appImage: o.appImage, appOnly: o.appOnly, istio: o.istio });
    progress?.end(result);
    return result;
  });
  return { results, runDir };
}
