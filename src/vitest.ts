/**
 * `import { phaseTests } from 'envoy-fault-lab/vitest'`: a scenario's phases as tests in the
 * user's own vitest suite, so "our incident stays fixed" sits next to their other tests.
 *
 *   import { phaseTests } from 'envoy-fault-lab/vitest';
 *   import payments503 from './incidents/payments-503.js';
 *   phaseTests(payments503, { envoy: process.env.ENVOY_VERSION });
 *
 * All phase runs happen once, in beforeAll, packed by the machine's scheduler as `scenario`
 * packs them; each test then judges one phase: its status must be the one its kind documents
 * (before: the failure shows; fix: it is gone), N/N when repeated, and a failure's message is the
 * verdict with its evidence. The run's report.html is written as the CLI writes it.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { resolveBackendKind } from './backends/create-backend.js';
import { assertInstallable, ensureEnvoy, type EnvoyBinary } from './envoy/install.js';
import { DEFAULT_ENVOY_VERSION } from './envoy/version.js';
import { writeRunFiles } from './report/run-files.js';
import { verdictLines } from './report/verdict-text.js';
import { configsDir, registerConfigsDir } from './envoy/configs-dir.js';
import { UsageError } from './errors.js';
import { assertScenarioPrerequisites } from './scenario/prerequisites.js';
import { OK_STATUSES, notApplicable, type PhaseResult } from './scenario/run-phase.js';
import { runScenario } from './scenario/run-scenario.js';
import type { Scenario } from './scenario/scenario.js';

export interface PhaseTestOptions {
  /** Envoy version (default: the lab's default; ENVOY_VERSION in CI). */
  envoy?: string;
  /** netns | docker | auto (default: auto). */
  backend?: string;
  /** Each phase N times; a phase passes only N/N. */
  repeat?: number;
  /** Only these phases. */
  phases?: string[];
  /**
   * The folder of the scenario's variants, when the scenario was imported rather than loaded by
   * the lab (`import s from './incidents/payments-503.js'`): ./incidents/payments-503.
   */
  configs?: string;
  /** Where the run's artifacts and report.html go (default: .lab-runs/<time>-<id>). */
  runDir?: string;
}

/** Registers one describe block with a test per phase (see the module's comment). */
export function phaseTests(scenario: Scenario, o: PhaseTestOptions = {}): void {
  if (o.configs) registerConfigsDir(scenario.id, resolve(o.configs));
  else if (!existsSync(configsDir(scenario.id))) {
    throw new UsageError(`phaseTests(${scenario.id}): where are its variants? ${configsDir(scenario.id)} does not exist`, { fix: `name the folder beside the scenario file: phaseTests(scenario, { configs: './incidents/${scenario.id}' })` });
  }
  const repeat = o.repeat ?? 1;
  const phases = scenario.phases.filter((p) => !o.phases || o.phases.includes(p.name));
  let envoy: EnvoyBinary | undefined;
  const results = new Map<string, PhaseResult[]>();
  describe(`${scenario.id}: ${scenario.title}`, () => {
    beforeAll(async () => {
      const version = o.envoy ?? DEFAULT_ENVOY_VERSION;
      await assertInstallable(version);
      const backend = await resolveBackendKind(o.backend ?? 'auto', version);
      assertScenarioPrerequisites(scenario, backend);
      envoy = await ensureEnvoy(version);
      const run = await runScenario(scenario, { envoy, backend, repeat, phases: phases.map((p) => p.name), runDir: o.runDir });
      for (const r of run.results) results.set(r.phase, [...(results.get(r.phase) ?? []), r]);
      await writeRunFiles(run.runDir, { scenario: scenario.id, backend, envoy: envoy.banner, envoyBinary: envoy.bin, repeat, results: run.results }, scenario);
    }, 3_600_000);
    afterAll(() => results.clear());

    for (const phase of phases) {
      test(`${phase.name} [${phase.kind}]: ${phase.title}`, (ctx) => {
        const na = envoy && notApplicable(phase, envoy.version);
        if (na) ctx.skip(`N/A: ${na}`);
        const runs = results.get(phase.name) ?? [];
        const ok = runs.filter((r) => OK_STATUSES.includes(r.status)).length;
        const lines = runs.flatMap((r, i) => [`run ${i + 1}/${repeat}: ${r.status.toUpperCase()}`, ...verdictLines(r).map((l) => `  ${l}`)]);
        expect(ok, `${phase.name}: ${ok}/${repeat} as documented\n${lines.join('\n') || 'never ran'}`).toBe(repeat);
      });
    }
  });
}
