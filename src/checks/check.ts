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
  if (e.appSentNothing) {
    return { status: 'unknown', verdicts: [{ label: 'traffic', status: 'unknown', evidence: 'the app sent no requests: nothing to judge' }] };
  }
  const verdicts = checks.map((c) => c(e));
  const status: CheckStatus = verdicts.every((v) => v.status === 'pass') ? 'pass' : verdicts.some((v) => v.status === 'fail') ? 'fail' : 'unknown';
  return { status, verdicts };
}

/**
 * The verdicts of documented symptoms (scenario.DocumentedSymptom) on this Envoy version: each
 * one either an ordinary check (expected) or proof that it is gone (expected gone). `gone` says
 * whether any symptom was proven gone, so the phase can report GONE instead of PASS.
 */
export function judgeDocumented(
  documented: Array<{ symptom: Check; goneFrom?: string; trigger: Check[]; why: string }>,
  e: Evidence,
  expectGone: (goneFrom: string) => boolean,
): { verdicts: Verdict[]; gone: boolean } {
  const verdicts: Verdict[] = [];
  let gone = false;
  for (const d of documented) {
    const symptom = d.symptom(e);
    if (!d.goneFrom || !expectGone(d.goneFrom)) {
      verdicts.push(symptom);
      continue;
    }
    const triggers = d.trigger.map((c) => c(e));
    const label = `gone on Envoy ${e.envoyVersion} (expected from ${d.goneFrom}): ${symptom.label}`;
    const trail = `${symptom.evidence}; trigger: ${triggers.map((t) => `${t.status === 'pass' ? '✓' : '✗'} ${t.label} (${t.evidence})`).join('; ')}; ${d.why}`;
    if (triggers.some((t) => t.status !== 'pass')) verdicts.push({ label, status: 'unknown', evidence: `the trigger was not shown to be applied: ${trail}` });
    else if (symptom.status === 'pass') verdicts.push({ label, status: 'fail', evidence: `the symptom shows again on this version: ${trail}` });
    else if (symptom.status === 'unknown') verdicts.push({ label, status: 'unknown', evidence: trail });
    else {
      verdicts.push({ label, status: 'pass', evidence: trail });
      gone = true;
    }
  }
  return { verdicts, gone };
}
