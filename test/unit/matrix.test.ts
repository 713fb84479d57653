import { distinctReleases } from '../../src/envoy/install.js';
import { describe, expect, it } from 'vitest';
import { check } from '../../src/checks/check.js';
import { plain } from '../../src/report/colors.js';
import { stdoutColors } from '../../src/report/colors.js';
import { cellWord, foldResults, matrixAsDeclared, matrixTable, mergeMatrices, type MatrixData } from '../../src/matrix/matrix-table.js';
import { parseShard, planMatrix } from '../../src/matrix/plan.js';
import { compareIstioVersions } from '../../src/istio/istio-version.js';
import type { PhaseResult, PhaseStatus } from '../../src/scenario/run-phase.js';
import type { Phase, Scenario } from '../../src/scenario/scenario.js';
import { runPool } from '../../src/util/pool.js';

const ok = check('x', () => ({ pass: true, evidence: '' }));
const phase = (name: string, kind: Phase['kind'] = 'fix'): Phase => ({ name, kind, title: name, config: 'broken', run: async () => {}, expect: [ok] });
const scenario = (id: string, phases: Phase[]): Scenario => ({ id, title: id, seed: '-', reported: [], symptom: '-', cause: '-', timeScaling: '-', world: { upstreams: [], dns: {} }, phases });
const result = (scenario: string, phase: string, kind: string, version: string, status: PhaseStatus, iteration = 1): PhaseResult =>
  ({ scenario, phase, kind, title: phase, iteration, envoyVersion: version, backend: 'netns', artifactsDir: `/x/${version}/${scenario}/${phase}`, status, verdicts: [], strip: '', timings: { topologyUpMs: 0, envoyReadyMs: 0, scriptedMs: 0, teardownMs: 0, wallMs: 1 } }) as PhaseResult;

describe('matrix plan', () => {
  const scenarios = [scenario('a', [phase('before', 'before'), phase('fix-1')]), scenario('b', [phase('before', 'before')])];

  it('has every (version, scenario, phase, repeat) once, versions in order', () => {
    const cells = planMatrix(['1.40.0', '1.36.4'], scenarios, 2);
    expect(cells).toHaveLength(2 * 3 * 2);
    expect(cells[0]!.version).toBe('1.36.4');
  });

  it('shards cover the matrix exactly once and keep a phase\'s repeats together', () => {
    const key = (c: { version: string; scenario: Scenario; phase: Phase; iteration: number }) => `${c.version} ${c.scenario.id} ${c.phase.name} ${c.iteration}`;
    const all = planMatrix(['1.36.4', '1.40.0'], scenarios, 3).map(key).sort();
    const shards = [1, 2, 3, 4].map((i) => planMatrix(['1.36.4', '1.40.0'], scenarios, 3, { index: i, count: 4 }).map(key));
    expect(shards.flat().sort()).toEqual(all);
    for (const s of shards) for (const k of s) expect(s.filter((x) => x.slice(0, -2) === k.slice(0, -2))).toHaveLength(3);
  });

  it('rejects a shard that is not i/n with the fix', () => {
    expect(() => parseShard('3/2')).toThrow(/not i\/n/);
    expect(parseShard('2/4')).toEqual({ index: 2, count: 4 });
  });
});

describe('matrix table', () => {
  const data = (results: PhaseResult[]): MatrixData => ({ createdAt: '', backend: 'netns', versions: ['1.36.4', '1.40.0'], entries: foldResults(results) });

  it('says what happened in the words of the phase kind, and marks a change between versions', () => {
    const d = data([result('a', 'before', 'before', '1.36.4', 'pass'), result('a', 'before', 'before', '1.40.0', 'gone'), result('a', 'fix-1', 'fix', '1.36.4', 'not-applicable'), result('a', 'fix-1', 'fix', '1.40.0', 'pass')]);
    const text = plain(matrixTable(d, stdoutColors));
    expect(text).toMatch(/a before\s+reproduced\s+gone \*/);
    expect(text).toMatch(/a fix-1\s+n\/a\s+fixed \*/);
    expect(matrixAsDeclared(d)).toBe(true);
  });

  it('folds repeats N/N: one failing repeat makes the cell fail', () => {
    const d = data([result('a', 'before', 'before', '1.40.0', 'pass', 1), result('a', 'before', 'before', '1.40.0', 'fail', 2)]);
    expect(d.entries).toHaveLength(1);
    expect(d.entries[0]).toMatchObject({ status: 'fail', good: 1, runs: 2 });
    expect(cellWord(d.entries[0]!)).toBe('FAIL');
    expect(matrixAsDeclared(d)).toBe(false);
  });

  it('--istio: one column per Istio on the same Envoy, ordered by commit time', () => {
    const older = 'v0.0.0-20260423205519-b01690e6db7d';
    const newer = 'v0.0.0-20260827124520-eed52ebb66ad';
    const runs = [result('a', 'before', 'before', '1.40.0', 'gone'), result('a', 'before', 'before', '1.40.0', 'pass')];
    const istioOf = new Map([[runs[0]!, newer], [runs[1]!, older]]);
    const d: MatrixData = { createdAt: '', backend: 'netns', axis: 'istio', versions: [newer, older], entries: foldResults(runs, (r) => istioOf.get(r)!) };
    expect(d.entries).toHaveLength(2);
    expect(plain(matrixTable(d, stdoutColors))).toMatch(new RegExp(`${older}\\s+${newer}[\\s\\S]*a before\\s+reproduced\\s+gone \\*`));
    expect(planMatrix([newer, older], [scenario('a', [phase('before', 'before')])], 1, undefined, compareIstioVersions)[0]!.version).toBe(older);
  });

  it('merges shards into one table', () => {
    const one = data([result('a', 'before', 'before', '1.36.4', 'pass')]);
    const two = { ...data([result('a', 'before', 'before', '1.40.0', 'pass')]), versions: ['1.40.0'] };
    const merged = mergeMatrices([one, two]);
    expect(merged.entries).toHaveLength(2);
    expect(merged.versions).toEqual(['1.36.4', '1.40.0']);
  });
});

describe('runPool', () => {
  it('runs at most N at once and returns results in the tasks\' order', async () => {
    let running = 0;
    let most = 0;
    const out = await runPool([30, 10, 20, 5, 15], 2, async (ms, i) => {
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, ms));
      running--;
      return i;
    });
    expect(out).toEqual([0, 1, 2, 3, 4]);
    expect(most).toBe(2);
  });
});

describe('matrix versions', () => {
  it('keeps one wheel per Envoy release: the newest packaging of each (1.36.2.post1, not 1.36.2 too)', () => {
    expect(distinctReleases(['1.40.0', '1.36.3', '1.36.2.post1', '1.36.2'])).toEqual(['1.40.0', '1.36.3', '1.36.2.post1']);
    expect(distinctReleases(['1.36.2', '1.36.2.post2', '1.36.2.post1'])).toEqual(['1.36.2.post2']);
  });
});
