import { describe, expect, it } from 'vitest';
import { check } from '../../src/checks/check.js';
import { defineScenario, type Phase, type Scenario } from '../../src/scenario/scenario.js';

const ok = check('x', () => ({ pass: true, evidence: '' }));
const phase = (p: Partial<Phase>): Phase => ({ name: 'before', kind: 'before', title: 't', config: 'broken', run: async () => {}, expect: [ok], ...p });
const scenario = (phases: Phase[]): Scenario => ({
  id: 'demo',
  title: 't',
  seed: '-',
  reported: [],
  symptom: '-',
  cause: '-',
  timeScaling: '-',
  world: { upstreams: [{ name: 'old', octet: 21, ports: [80] }], dns: {} },
  phases,
});

describe('defineScenario', () => {
  it('rejects a phase with no checks: it could never fail', () => {
    expect(() => defineScenario(scenario([phase({ expect: [] })]))).toThrow(/phase "before" has no checks/);
  });

  it('rejects duplicate phases, unknown hosts and a missing before phase, each with its fix', () => {
    expect(() => defineScenario(scenario([phase({}), phase({})]))).toThrow(/defined twice/);
    expect(() => defineScenario(scenario([phase({ upstreams: { nope: {} } })]))).toThrow(/"nope", which the lab does not have/);
    expect(() => defineScenario(scenario([phase({ kind: 'fix', name: 'fix-a' })]))).toThrow(/no "before" phase/);
  });

  it("takes a phase's DNS answers only as a lab host or an auto-allocated address, and istiod env only as flag names", () => {
    expect(() => defineScenario(scenario([phase({ dns: { 'a.test': 'old' } }), phase({ name: 'fix-vip', kind: 'fix', dns: { 'a.test': '240.240.0.5' } })]))).not.toThrow();
    // Anything else (another name, an address) could point a lab call outside the lab.
    expect(() => defineScenario(scenario([phase({ dns: { 'a.test': 'partner-db' } })]))).toThrow(/answers a.test with "partner-db", neither a lab host nor an address in Istio's auto-allocated range/);
    expect(() => defineScenario(scenario([phase({ istiodEnv: { 'enable ip autoallocate': 'true' } })]))).toThrow(/is not an istiod flag name/);
  });

  it('accepts a well-formed scenario as it is', () => {
    const s = scenario([phase({})]);
    expect(defineScenario(s)).toEqual(s);
  });

  it("takes a phase's kind from its name, and asks for one when the name does not say it", () => {
    const { kind: _, ...unkinded } = phase({});
    expect(defineScenario({ ...scenario([]), phases: [{ ...unkinded, name: 'fix-retry' }, { ...unkinded, name: 'before' }] }).phases.map((p) => p.kind)).toEqual(['fix', 'before']);
    expect(() => defineScenario({ ...scenario([]), phases: [{ ...unkinded, name: 'before' }, { ...unkinded, name: 'natural' }] })).toThrow(/phase "natural" has no kind, and its name does not say one/);
  });

  it('asks which Istio behaviour change a phase with the old behaviour reverts, by its flag name', () => {
    const reverting = [phase({}), phase({ name: 'fix-old', kind: 'fix', oldIstioBehaviour: true })];
    expect(() => defineScenario(scenario(reverting))).toThrow(/runs with the old Istio behaviour, and the scenario names no behaviourChange/);
    expect(() => defineScenario({ ...scenario(reverting), behaviourChange: 'pick best namespace' })).toThrow(/is not an istiod flag name/);
    expect(defineScenario({ ...scenario(reverting), behaviourChange: 'PILOT_SIDECAR_PICK_BEST_SERVICE_NAMESPACE' }).behaviourChange).toBe('PILOT_SIDECAR_PICK_BEST_SERVICE_NAMESPACE');
  });
});
