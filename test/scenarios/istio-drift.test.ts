// Every hand-written variant of a scenario with Istio YAML must say what Istio generates from the
// same objects (npm run lab -- istio drift), on the pinned and on a newer Istio.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { scenarioDrift } from '../../src/istio/drift.js';
import { istiodBinary } from '../../src/istio/istiod-binary.js';
import { ENVOY_CONFIGS_DIR } from '../../src/paths.js';
import { loadScenario } from '../../src/scenario/registry.js';
import { CORE, NEWER_ISTIO } from '../support/istio-suite.js';

describe('Istio YAML and the hand-written variants say the same (istio drift), on the pinned and on a newer Istio', () => {
  beforeAll(async () => {
    await istiodBinary((l) => console.log(l));
    await istiodBinary((l) => console.log(l), NEWER_ISTIO);
  }, 1_200_000);
  for (const [id, version] of CORE.flatMap((c) => [[c, undefined], [c, NEWER_ISTIO]] as const)) {
    it(`${id}${version ? ` (Istio ${version})` : ''}: every hand-written variant is what Istio generates, or a declared difference`, async () => {
      expect(existsSync(join(ENVOY_CONFIGS_DIR, id, 'istio')), `envoy-configs/${id}/istio/`).toBe(true);
      const results = await scenarioDrift(await loadScenario(id), undefined, version);
      expect(results.length).toBeGreaterThan(0);
      for (const r of results) {
        console.log(`${id}/${r.variant}: ${r.unexpected.length} unexpected, ${r.known.length} declared, ${r.stale.length} stale`);
        expect(r.unexpected.map((d) => `${r.variant}: ${d.what}: hand-written ${d.handWritten}; Istio ${d.generated}`)).toEqual([]);
        expect(r.stale).toEqual([]);
      }
    });
  }
});

