/**
 * Proof that a scenario's checks can fail: each `before` phase's checks judged on the stored
 * evidence of the fix and live phases, and each fix / live phase's checks on the `before`
 * evidence. A cross-judgement that passes means the checks cannot tell the broken world from the
 * fixed one. Controls (a non-fix that must still fail) and measurements are left out: a control's
 * checks are meant to hold on the broken world.
 */
import { judge, type CheckStatus } from '../checks/check.js';
import type { Evidence } from '../evidence/evidence.js';
import type { Phase, Scenario } from './scenario.js';

export interface CrossJudgement {
  checksOf: string;
  evidenceOf: string;
  status: CheckStatus;
  /** The checks that passed on the other world's evidence (each is fine alone; all passing is not). */
  passing: string[];
}

const judged = (p: Phase) => p.kind === 'before' || p.kind === 'fix' || p.kind === 'live';

/** The documented symptoms a phase expects on hand-written configs on every Envoy: those gone only under some Istio. */
const expectedDocumented = (p: Phase) => (p.documented ?? []).filter((d) => d.goneFrom === undefined).flatMap((d) => [d.symptom].flat());

/** `evidence` holds the stored evidence of the phases that ran (by phase name). */
export function crossJudge(scenario: Scenario, evidence: Map<string, Evidence>): CrossJudgement[] {
  const phases = scenario.phases.filter((p) => judged(p) && evidence.has(p.name));
  const out: CrossJudgement[] = [];
  for (const checks of phases) {
    for (const world of phases) {
      if ((checks.kind === 'before') === (world.kind === 'before')) continue; // broken vs fixed only
      const v = judge([...checks.expect, ...expectedDocumented(checks)], evidence.get(world.name)!);
      out.push({ checksOf: checks.name, evidenceOf: world.name, status: v.status, passing: v.verdicts.filter((x) => x.status === 'pass').map((x) => x.label) });
    }
  }
  return out;
}
