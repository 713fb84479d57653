/** Named checks on the faults: proof from the kernel or the instrument that a fault fired, or never had to. */
import { check, type Check } from './check.js';

/** The named fault really did something during the phase (dropped SYNs, sent RSTs, …). */
export function faultFired(host: string, fault: string): Check {
  return check(`the fault fired: ${fault} on ${host}`, (e) => {
    const rec = e.faults.find((f) => f.host === host && f.fault === fault);
    if (!rec) return { pass: false, evidence: `no ${fault} fault was injected on ${host}` };
    return { pass: rec.fired > 0, evidence: rec.detail };
  });
}

/** The fault was in place but never had to act (a fix made its trigger disappear). */
export function faultNeverFired(label: string, host: string, fault: string): Check {
  return check(label, (e) => {
    const rec = e.faults.find((f) => f.host === host && f.fault === fault);
    if (!rec) return { pass: false, evidence: `no ${fault} fault was injected on ${host}: nothing was tested` };
    return { pass: rec.fired === 0, evidence: rec.detail };
  });
}
