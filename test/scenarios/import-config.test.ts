// import-config round trip, on each backend: a lab phase's own config_dump is imported as a
// variant (addresses mapped back to the scenario's hosts from its evidence.json), and the phase's
// traffic and faults run against it (--config) give the same verdict, check by check.
import { rm } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { variantPath } from '../../src/envoy/config.js';
import { ensureEnvoy, type EnvoyBinary } from '../../src/envoy/install.js';
import { RUNS_DIR } from '../../src/paths.js';
import { importVariant } from '../../src/scenario/import-variant.js';
import { loadScenario } from '../../src/scenario/registry.js';
import { runPhase } from '../../src/scenario/run-phase.js';
import { backendsUnderTest } from '../support/backends.js';

for (const backend of await backendsUnderTest()) {
  describe.skipIf(!!backend.unavailable)(`[${backend.kind}] import-config round trip`, () => {
    let envoy: EnvoyBinary;
    beforeAll(async () => {
      envoy = await ensureEnvoy();
    });

    for (const phaseName of ['before', 'fix-dns-cluster']) {
      it(`sticky-503 ${phaseName}: its own config_dump, imported, reproduces the same verdict`, async () => {
        const scenario = await loadScenario('sticky-503');
        const phase = scenario.phases.find((p) => p.name === phaseName)!;
        const dir = `${RUNS_DIR}/import-config-test-${backend.kind}`;
        const original = await runPhase(scenario, phase, { envoy, backend: backend.kind, artifactsDir: `${dir}/${phaseName}` });
        const name = `roundtrip-${backend.kind}-${phaseName}`;
        try {
          const imported = await importVariant({ scenario, dumpFile: `${dir}/${phaseName}/config_dump.json`, name, envoy });
          const again = await runPhase(scenario, phase, { envoy, backend: backend.kind, artifactsDir: `${dir}/${phaseName}-imported`, configPath: imported.file });
          const verdicts = (r: typeof original) => r.verdicts.map((v) => `${v.status} ${v.label}`);
          console.log(`[${backend.kind}] ${phaseName}: own config ${original.status.toUpperCase()}, imported ${again.status.toUpperCase()}; import changed: ${imported.changes.join('; ')}`);
          expect(original.status).toBe('pass');
          expect(again.configOverride).toBe(imported.file);
          expect(verdicts(again)).toEqual(verdicts(original));
        } finally {
          await rm(variantPath('sticky-503', `imported-${name}`), { force: true });
        }
      });
    }
  });
}
