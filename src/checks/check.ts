/**
 * Checks are pure functions over a finished phase's evidence. Each returns a Verdict that cites its
 * evidence in words and numbers, never a bare boolean. A phase with no traffic cannot pass.
 */
import type { AccessLogEntry } from '../envoy/access-log.js';
import type { Timeline } from '../timeline/timeline.js';

export interface FaultRecord {
  host: string;
  fault: string;
  /** How many times the kernel (or the instrument) applied it: dropped SYNs, resets sent, … */
  fired: number;
  detail: string;
}

/** Everything one phase recorded: what checks look at. */
export interface PhaseEvidence {
  timeline: Timeline;
  accessLog: AccessLogEntry[];
  /** Stat changes over the phase (after − before). */
  stats: Record<string, number>;
  faults: FaultRecord[];
  /** Requests each upstream host served. */
  served: Record<string, number>;
  envoyVersion: string;
  /** Lab addresses by host name. */
  ips: Record<string, string>;
  /** Envoy's /config_dump at the end of the phase (JSON text): what it really ran. */
  configDump: string;
  /** Connection tables (`ss -tanp` in the pod) taken during the phase, by label. */
  snapshots: Record<string, string>;
}

export interface Verdict {
  label: string;
  pass: boolean | 'unknown';
  evidence: string;
}

export type Check = (e: PhaseEvidence) => Verdict;

/** A named check from a function that returns pass + evidence. */
export function check(label: string, judge: (e: PhaseEvidence) => { pass: boolean | 'unknown'; evidence: string }): Check {
  return (e) => {
    try {
      return { label, ...judge(e) };
    } catch (err) {
      return { label, pass: false, evidence: `the check itself failed: ${(err as Error).message}` };
    }
  };
}

export function stat(e: PhaseEvidence, name: string): number {
  return e.stats[name] ?? 0;
}

/** An Envoy counter grew by at least `min` during the phase. */
export function counterAtLeast(name: string, min: number, why?: string): Check {
  return check(`${why ?? 'counter'}: ${name} grew by ≥ ${min}`, (e) => ({
    pass: stat(e, name) >= min,
    evidence: `${name} +${stat(e, name)}`,
  }));
}

/** The named fault really did something in the kernel (or the instrument) during the phase. */
export function faultFired(host: string, fault: string): Check {
  return check(`the fault fired: ${fault} on ${host}`, (e) => {
    const rec = e.faults.find((f) => f.host === host && f.fault === fault);
    if (!rec) return { pass: false, evidence: `no ${fault} fault was applied to ${host}` };
    return { pass: rec.fired > 0, evidence: rec.detail };
  });
}

export interface PhaseVerdict {
  pass: boolean;
  /** 'unknown' when there was no traffic to judge. */
  status: 'pass' | 'fail' | 'unknown' | 'not-applicable';
  verdicts: Verdict[];
}

export function judge(checks: Check[], e: PhaseEvidence): PhaseVerdict {
  if (e.timeline.requests().length === 0) {
    return { pass: false, status: 'unknown', verdicts: [{ label: 'traffic', pass: 'unknown', evidence: 'the app sent no requests: nothing to judge' }] };
  }
  const verdicts = checks.map((c) => c(e));
  const pass = verdicts.every((v) => v.pass === true);
  return { pass, status: pass ? 'pass' : verdicts.some((v) => v.pass === false) ? 'fail' : 'unknown', verdicts };
}
