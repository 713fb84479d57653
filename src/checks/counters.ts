/**
 * Named checks on Envoy's counters, as deltas over the phase. A counter Envoy does not have is
 * missing evidence (UNKNOWN), so "stayed at 0" cannot pass on a misspelled name.
 */
import { check, type Check } from './check.js';

/** An Envoy counter grew by at least `min` during the phase. */
export function counterGrew(label: string, name: string, min: number): Check {
  return check(`${label}: ${name} grew by ≥ ${min}`, (e) => {
    const n = e.counter(name);
    return { pass: n >= min, evidence: `${name} +${n}` };
  });
}

/** An Envoy counter that exists did not move during the phase. */
export function counterStayedZero(label: string, name: string): Check {
  return check(`${label}: ${name} stayed at 0`, (e) => {
    const n = e.counter(name);
    return { pass: n === 0, evidence: `${name} +${n}` };
  });
}

/** Envoy's /config_dump contains this text (or matches this pattern): the configuration in force really had it. */
export function configHas(label: string, text: string | RegExp, where: string): Check {
  return check(label, (e) => {
    const found = typeof text === 'string' ? e.configDump.includes(text) : text.test(e.configDump);
    return { pass: found, evidence: `${text} ${found ? 'found in' : 'not in'} /config_dump${found ? ` (${where})` : ''}` };
  });
}
