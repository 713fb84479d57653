/**
 * The scenario suite: every phase of every scenario on real Envoy, on every backend that can run
 * here (netns: Linux as root; docker: a daemon with the lab images). `before` must reproduce the
 * failure with its mechanism; each fix must make it go away. Each test prints what it proved.
 *   LAB_BACKENDS=netns,docker   which backends (default: every one available)
 *   LAB_REPEAT=3                each phase N times, N/N required
 *   ENVOY_VERSION=1.36.4        another Envoy
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { dockerImagesReady } from '../../src/docker/images.js';
import { ensureEnvoy, type EnvoyBinary } from '../../src/envoy/install.js';
import { DEFAULT_ENVOY_VERSION } from '../../src/envoy/version.js';
import { verdictLines } from '../../src/report/verdict-text.js';
import { loadScenario, scenarioIds } from '../../src/scenario/registry.js';
import { OK_STATUSES, runPhase } from '../../src/scenario/run-phase.js';
import { defaultRunDir } from '../../src/scenario/run-scenario.js';
import { netnsPossible, type BackendKind } from '../../src/topology/create-backend.js';

const repeat = Number(process.env.LAB_REPEAT ?? 1);
const envoyVersion = process.env.ENVOY_VERSION ?? DEFAULT_ENVOY_VERSION;

const available: Record<BackendKind, boolean> = { netns: netnsPossible(), docker: await dockerImagesReady(envoyVersion) };
const wanted = (process.env.LAB_BACKENDS?.split(',') ?? ['netns', 'docker']) as BackendKind[];
if (process.env.LAB_BACKENDS) {
  for (const b of wanted) if (!available[b]) throw new Error(`LAB_BACKENDS asks for ${b}, which cannot run here: see \`npm run lab -- doctor\``);
}

for (const backend of wanted) {
  for (const id of scenarioIds()) {
    const scenario = await loadScenario(id);
    describe.skipIf(!available[backend])(`[${backend}] ${id}: ${scenario.title}`, () => {
      let envoy: EnvoyBinary;
      const runDir = `${defaultRunDir(id)}-${backend}`;
      beforeAll(async () => {
        envoy = await ensureEnvoy(envoyVersion, (l) => console.log(l));
      });

      for (const phase of scenario.phases) {
        it(`${phase.name} [${phase.kind}]: ${phase.title}`, async () => {
          const lines: string[] = [];
          let ok = 0;
          for (let i = 1; i <= repeat; i++) {
            const r = await runPhase(scenario, phase, { envoy, backend, artifactsDir: `${runDir}/${phase.name}${repeat > 1 ? `-${i}` : ''}`, iteration: i });
            if (OK_STATUSES.includes(r.status)) ok++;
            lines.push(`run ${i}/${repeat}: ${r.status.toUpperCase()} (Envoy ${r.envoyVersion}, ${backend})`, ...verdictLines(r).map((l) => `  ${l}`));
          }
          console.log(`[${backend}] ${id} › ${phase.name}: ${ok}/${repeat}\n${lines.join('\n')}`);
          expect(ok, lines.join('\n')).toBe(repeat);
        });
      }
    });
  }
}
