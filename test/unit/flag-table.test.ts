import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RESPONSE_FLAGS_DOC_PATH } from '../../src/paths.js';
import { flagTable, withFlagTable } from '../../src/report/flag-table.js';
import { loadScenario, scenarioIds } from '../../src/scenario/registry.js';
import { defineScenario } from '../../src/scenario/scenario.js';
import { check } from '../../src/checks/check.js';

describe("docs/response-flags.md's table", () => {
  it("is the one generated from the scenarios' responseFlags (npm run lab -- flags --write)", async () => {
    const scenarios = await Promise.all(scenarioIds().map(loadScenario));
    const page = readFileSync(RESPONSE_FLAGS_DOC_PATH, 'utf8');
    expect(withFlagTable(page, flagTable(scenarios))).toBe(page);
  });

  it('names every scenario that declares a flag, and says "none yet" for a flag none reproduces', async () => {
    const scenarios = await Promise.all(scenarioIds().map(loadScenario));
    const table = flagTable(scenarios);
    expect(table).toMatch(/\| `UO` \|.*`circuit-breaker-overflow`/);
    expect(table).toMatch(/\| `LH` \| [^|]+ \| none yet \|/);
  });

  it('rejects a scenario that declares a flag Envoy does not have, naming the known ones', () => {
    const phase = { name: 'before', kind: 'before' as const, title: 't', config: 'broken', run: async () => {}, expect: [check('x', () => ({ pass: true, evidence: '' }))] };
    expect(() => defineScenario({ id: 'x', title: 't', seed: 's', reported: [], symptom: 's', cause: 'c', timeScaling: 't', world: { upstreams: [], dns: {} }, responseFlags: { UQ: { where: 'nowhere' } }, phases: [phase] })).toThrow(/"UQ", which is not an Envoy response flag/);
  });
});
