/**
 * Runs a scenario's phases (optionally a subset, each `repeat` times, N/N required), each in its
 * own lab under .lab-runs/<time>-<scenario>/<phase>[-<i>]/. The run's summary files (result.json,
 * junit.xml) are written by report/run-files.ts.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackendKind } from '../backends/backend.js';
import type { EnvoyBinary } from '../envoy/install.js';
import { UsageError } from '../errors.js';
import { RUNS_DIR } from '../paths.js';
import { runPhase, type PhaseResult } from './run-phase.js';
import type { Phase, Scenario } from './scenario.js';

export interface RunReporter {
  phaseStart(phase: Phase, iteration: number, repeat: number): void;
  step(line: string): void;
  phaseEnd(result: PhaseResult): void;
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
  const results: PhaseResult[] = [];
  for (const phase of phases) {
    for (let i = 1; i <= repeat; i++) {
      o.reporter?.phaseStart(phase, i, repeat);
      const artifactsDir = join(runDir, repeat > 1 ? `${phase.name}-${i}` : phase.name);
      const result = await runPhase(scenario, phase, { envoy: o.envoy, artifactsDir, iteration: i, log: o.reporter?.step.bind(o.reporter), keep: o.keep, backend: o.backend });
      results.push(result);
      o.reporter?.phaseEnd(result);
    }
  }
  return { results, runDir };
}
