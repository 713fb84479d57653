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

/** The verdict of several checks as one: what each saw, joined. */
function combined(label: string, checks: Check[], status: (all: CheckStatus[]) => CheckStatus): Check {
  const c = (e: Evidence): Verdict => {
    const verdicts = checks.map((k) => k(e));
    const mark = (v: Verdict) => `${v.status === 'pass' ? '✓' : v.status === 'fail' ? '✗' : '?'} ${v.label}: ${v.evidence}`;
    return { label, status: status(verdicts.map((v) => v.status)), evidence: verdicts.map(mark).join('; ') };
  };
  return Object.assign(c, { label });
}

/** Passes when every check passes; fails when one fails; otherwise unknown (one lacked its evidence). */
export const all = (label: string, ...checks: Check[]): Check =>
  combined(label, checks, (s) => (s.every((x) => x === 'pass') ? 'pass' : s.includes('fail') ? 'fail' : 'unknown'));

/** Passes when one check passes; fails when every check fails; otherwise unknown (none passed, one lacked its evidence). */
export const any = (label: string, ...checks: Check[]): Check =>
  combined(label, checks, (s) => (s.includes('pass') ? 'pass' : s.every((x) => x === 'fail') ? 'fail' : 'unknown'));

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
/**
 * `goneOn(d)`: where the symptom is expected gone on this run ("Envoy 1.40.0 (expected from
 * 1.36.0)"), or undefined where it is expected to show.
 */
export function judgeDocumented<D extends { symptom: Check | Check[]; trigger: Check[]; why: string }>(
  documented: D[],
  e: Evidence,
  goneOn: (d: D) => string | undefined,
): { verdicts: Verdict[]; gone: boolean } {
  const verdicts: Verdict[] = [];
  let gone = false;
  const mark = (v: Verdict) => `${v.status === 'pass' ? '✓' : v.status === 'fail' ? '✗' : '?'} ${v.label} (${v.evidence})`;
  for (const d of documented) {
    const symptoms = [d.symptom].flat().map((c) => c(e));
    const where = goneOn(d);
    if (!where) {
      verdicts.push(...symptoms);
      continue;
    }
    const [symptom] = symptoms as [Verdict, ...Verdict[]];
    const triggers = d.trigger.map((c) => c(e));
    const label = `gone on ${where}: ${symptom.label}`;
    const trail = `${symptoms.length > 1 ? symptoms.map(mark).join('; ') : symptom.evidence}; trigger: ${triggers.map(mark).join('; ')}; ${d.why}`;
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
