/**
 * The scenario suite: every phase of every scenario on real Envoy, on every backend under test
 * (test/support/backends.ts: CI requires both). `before` must reproduce the failure with its
 * mechanism; each fix must make it go away; a phase that needs a newer Envoy shows as skipped
 * with its reason. Then, per scenario, the checks are cross-judged on the other phases' stored
 * evidence: a `before` check set that passes on a fixed world (or the reverse) fails the suite.
 *   LAB_BACKENDS=netns,docker   which backends (CI: both, required)
 *   LAB_REPEAT=3                each phase N times, N/N required
 *   ENVOY_VERSION=1.36.4        another Envoy
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureEnvoy, type EnvoyBinary } from '../../src/envoy/install.js';
import { DEFAULT_ENVOY_VERSION } from '../../src/envoy/version.js';
import type { Evidence } from '../../src/evidence/evidence.js';
import { loadEvidence } from '../../src/evidence/store.js';
import { verdictLines } from '../../src/report/verdict-text.js';
import { crossJudge } from '../../src/scenario/cross-judge.js';
import { loadScenario, scenarioIds } from '../../src/scenario/registry.js';
import { OK_STATUSES, notApplicable, runPhase } from '../../src/scenario/run-phase.js';
import { defaultRunDir } from '../../src/scenario/run-scenario.js';
import { backendsUnderTest } from '../support/backends.js';

const repeat = Number(process.env.LAB_REPEAT ?? 1);
const envoyVersion = process.env.ENVOY_VERSION ?? DEFAULT_ENVOY_VERSION;

for (const backend of await backendsUnderTest(envoyVersion)) {
  for (const id of scenarioIds()) {
    const scenario = await loadScenario(id);
    describe.skipIf(!!backend.unavailable)(`[${backend.kind}] ${id}: ${scenario.title}`, () => {
      let envoy: EnvoyBinary;
      const runDir = `${defaultRunDir(id)}-${backend.kind}`;
      /** The first run's evidence of each phase that ran, for the cross-judgement. */
      const evidence = new Map<string, Evidence>();
      beforeAll(async () => {
        envoy = await ensureEnvoy(envoyVersion, (l) => console.log(l));
      });

      for (const phase of scenario.phases) {
        it(`${phase.name} [${phase.kind}]: ${phase.title}`, async (ctx) => {
          const na = notApplicable(phase, envoy.version);
          if (na) ctx.skip(`N/A: ${na}`);
          const lines: string[] = [];
          let ok = 0;
          for (let i = 1; i <= repeat; i++) {
            const artifactsDir = `${runDir}/${phase.name}${repeat > 1 ? `-${i}` : ''}`;
            const r = await runPhase(scenario, phase, { envoy, backend: backend.kind, artifactsDir, iteration: i });
            if (OK_STATUSES.includes(r.status)) ok++;
            if (i === 1 && r.status !== 'error') evidence.set(phase.name, await loadEvidence(artifactsDir));
            lines.push(`run ${i}/${repeat}: ${r.status.toUpperCase()} (Envoy ${r.envoyVersion}, ${backend.kind})`, ...verdictLines(r).map((l) => `  ${l}`));
          }
          console.log(`[${backend.kind}] ${id} › ${phase.name}: ${ok}/${repeat}\n${lines.join('\n')}`);
          expect(ok, lines.join('\n')).toBe(repeat);
        });
      }

      it('the checks tell the broken world from the fixed one (cross-judged on stored evidence)', (ctx) => {
        const judgements = crossJudge(scenario, evidence);
        if (judgements.length === 0) ctx.skip('no before/fix pair ran');
        const passed = judgements.filter((j) => j.status === 'pass');
        console.log(`[${backend.kind}] ${id} › cross-judgement:\n${judgements.map((j) => `  ${j.checksOf}'s checks on ${j.evidenceOf}'s evidence: ${j.status.toUpperCase()}`).join('\n')}`);
        expect(passed.map((j) => `${j.checksOf}'s checks PASS on ${j.evidenceOf}'s evidence (${j.passing.length} checks passed)`)).toEqual([]);
      });
    });
  }
}
