// A missing prerequisite found inside a phase ends the whole run with that one error (the CLI
// exits 3 on it), instead of an ERROR per phase.
import { describe, expect, it } from 'vitest';
import { ensureEnvoy } from '../../src/envoy/install.js';
import { PrerequisiteError } from '../../src/errors.js';
import { check } from '../../src/checks/check.js';
import { defineScenario, type Phase } from '../../src/scenario/scenario.js';
import { runScenario } from '../../src/scenario/run-scenario.js';
import { RUNS_DIR } from '../../src/paths.js';
import { netnsUnderTest } from '../support/backends.js';

const netns = await netnsUnderTest();

describe.skipIf(!!netns.unavailable)('missing prerequisites', () => {
  it('stop the run at the first phase that needs one, with the fix', async () => {
    /** When a phase first said the machine lacks something. */
    let thrownAt = Infinity;
    const phase = (name: string, kind: Phase['kind']): Phase => ({
      name,
      kind,
      title: name,
      config: 'broken',
      run: async () => {
        thrownAt = Math.min(thrownAt, Date.now());
        throw new PrerequisiteError('memcached is not installed', { fix: 'apt-get install -y memcached' });
      },
      expect: [check('never judged', () => ({ pass: false, evidence: '' }))],
    });
    // A scenario borrowing sticky-503's configs, whose phases need something this machine "lacks".
    const scenario = defineScenario({
      id: 'sticky-503',
      title: 'prerequisite test',
      seed: '-',
      reported: [],
      symptom: '-',
      cause: '-',
      timeScaling: '-',
      world: { upstreams: [{ name: 'old', octet: 21, ports: [80] }, { name: 'new', octet: 22, ports: [80] }], dns: {} },
      phases: [phase('before', 'before'), phase('fix-a', 'fix'), phase('fix-b', 'fix')],
    });
    const attempt = async (parallel?: number) => {
      const started: string[] = [];
      thrownAt = Infinity;
      const startedAt: number[] = [];
      const run = runScenario(scenario, {
        envoy: await ensureEnvoy(),
        backend: 'netns',
        parallel,
        runDir: `${RUNS_DIR}/prerequisite-test-${process.pid}-${parallel ?? 'auto'}`,
        reporter: { start: (p) => (started.push(p.name), startedAt.push(Date.now()), { step: () => {}, end: () => {} }) },
      });
      await expect(run).rejects.toMatchObject({ name: 'PrerequisiteError', fix: 'apt-get install -y memcached' });
      expect(thrownAt).toBeLessThan(Infinity); // a phase did get to say it
      return { started, startedAfterTheError: startedAt.filter((t) => t > thrownAt).length };
    };
    // One at a time: the first phase says it, and no other starts.
    expect((await attempt(1)).started).toEqual(['before']);
    // Side by side (the default): the phases already under way end, no new one starts, and the run ends with the one error.
    expect((await attempt()).startedAfterTheError).toBe(0);
  });
});
