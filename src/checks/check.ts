/**
 * Checks are pure functions over a finished phase's stored Evidence. Each returns a Verdict that
 * cites its evidence in words and numbers, never a bare boolean:
 *   pass     the evidence shows what the check claims;
 *   fail     the evidence shows otherwise;
 *   unknown  the evidence the check needs is absent (EvidenceMissing): never a pass.
 * A phase passes only when every check passes, and a phase with no traffic cannot pass.
 */
import { Evidence, EvidenceMissing } from '../evidence/evidence.js';

export type CheckStatus = 'pass' | 'fail' | 'unknown';

export interface Verdict {
  label: string;
  status: CheckStatus;
  evidence: string;
}

export type Check = ((e: Evidence) => Verdict) & { readonly label?: string };

/** What a check's body returns: a boolean verdict and the evidence it rests on. */
export interface Finding {
  pass: boolean;
  evidence: string;
}

/** A named check. Missing evidence → unknown; a crash inside the check → fail, saying so. */
export function check(label: string, judge: (e: Evidence) => Finding): Check {
  const c = (e: Evidence): Verdict => {
    try {
      const { pass, evidence } = judge(e);
      return { label, status: pass ? 'pass' : 'fail', evidence };
    } catch (err) {
      if (err instanceof EvidenceMissing) return { label, status: 'unknown', evidence: `evidence missing: ${err.message}` };
      return { label, status: 'fail', evidence: `the check itself failed: ${(err as Error).message}` };
    }
  };
  return Object.assign(c, { label });
}

export interface PhaseVerdict {
  status: CheckStatus;
  verdicts: Verdict[];
}

export function judge(checks: Check[], e: Evidence): PhaseVerdict {
  if (e.timeline.requests().length === 0) {
    return { status: 'unknown', verdicts: [{ label: 'traffic', status: 'unknown', evidence: 'the app sent no requests: nothing to judge' }] };
  }
  const verdicts = checks.map((c) => c(e));
  const status: CheckStatus = verdicts.every((v) => v.status === 'pass') ? 'pass' : verdicts.some((v) => v.status === 'fail') ? 'fail' : 'unknown';
  return { status, verdicts };
}
