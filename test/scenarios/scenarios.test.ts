/**
 * The scenario suite: every phase of every scenario on real Envoy, in real namespaces.
 * `before` must reproduce the failure with its mechanism; each fix must make it go away.
 * LAB_REPEAT=N runs each phase N times (N/N required); ENVOY_VERSION picks the Envoy.
 * Each test prints what its phase proved.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureEnvoy, type EnvoyBinary } from '../../src/envoy/install.js';
import { DEFAULT_ENVOY_VERSION } from '../../src/envoy/version.js';
import { verdictLines } from '../../src/report/verdict-text.js';
import { loadScenario, scenarioIds } from '../../src/scenario/registry.js';
import { OK_STATUSES, runPhase } from '../../src/scenario/run-phase.js';
import { defaultRunDir } from '../../src/scenario/run-scenario.js';

const repeat = Number(process.env.LAB_REPEAT ?? 1);
const root = process.getuid?.() === 0;

for (const id of scenarioIds()) {
  const scenario = await loadScenario(id);
  describe.skipIf(!root)(`${id}: ${scenario.title}`, () => {
    let envoy: EnvoyBinary;
    const runDir = defaultRunDir(id);
    beforeAll(async () => {
      envoy = await ensureEnvoy(process.env.ENVOY_VERSION ?? DEFAULT_ENVOY_VERSION, (l) => console.log(l));
    });

    for (const phase of scenario.phases) {
      it(`${phase.name} [${phase.kind}]: ${phase.title}`, async () => {
        const lines: string[] = [];
        let ok = 0;
        for (let i = 1; i <= repeat; i++) {
          const r = await runPhase(scenario, phase, { envoy, artifactsDir: `${runDir}/${phase.name}${repeat > 1 ? `-${i}` : ''}`, iteration: i });
          if (OK_STATUSES.includes(r.status)) ok++;
          lines.push(`run ${i}/${repeat}: ${r.status.toUpperCase()} (Envoy ${r.envoyVersion})`, ...verdictLines(r).map((l) => `  ${l}`));
        }
        console.log(`${id} › ${phase.name}: ${ok}/${repeat}\n${lines.join('\n')}`);
        expect(ok, lines.join('\n')).toBe(repeat);
      });
    }
  });
}
