/**
 * What a scenario is: one documented incident, told as phases. `before` runs the incident's
 * configuration and must show the symptom, its mechanism and the fault firing; each fix phase
 * runs a fresh lab with the fix in place and must show the symptom gone and the fix path used;
 * a live phase applies a fix mid-incident; a control shows a popular non-fix failing.
 */
import type { Check } from '../checks/check.js';
import type { Lab, LabSpec } from '../lab.js';

export type PhaseKind = 'before' | 'fix' | 'live' | 'control';

export interface Phase {
  /** Short id used by --phase, in artifacts and in the verdict table. */
  name: string;
  kind: PhaseKind;
  /** One line: what this phase shows. */
  title: string;
  /** Envoy config variant in envoy-configs/<scenario>/ (without .yaml). */
  config: string;
  /** Upstream hosts whose addresses bypass the sidecar (excludeOutboundIPRanges). */
  excludeOutbound?: string[];
  /** Phases that need a newer Envoy are reported as not applicable on older ones. */
  requires?: { envoy: string; why: string };
  /** The incident, as a script against the lab. */
  run(lab: Lab): Promise<void>;
  /** What must hold afterwards; each check cites its evidence. */
  expect: Check[];
}

export interface Scenario {
  id: string;
  title: string;
  /** The seed write-up this reproduces (../shared/seeds/…) and public reports. */
  seed: string;
  reported: string[];
  symptom: string;
  cause: string;
  /** How real-world timeouts were scaled down so a phase takes seconds. */
  timeScaling: string;
  lab: Omit<LabSpec, 'sidecar'>;
  phases: Phase[];
}

export function defineScenario(s: Scenario): Scenario {
  const names = new Set<string>();
  for (const p of s.phases) {
    if (names.has(p.name)) throw new Error(`scenario ${s.id}: phase "${p.name}" is defined twice`);
    names.add(p.name);
  }
  if (!s.phases.some((p) => p.kind === 'before')) throw new Error(`scenario ${s.id} has no "before" phase`);
  return s;
}
