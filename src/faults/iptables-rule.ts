/**
 * Kernel-level faults are iptables rules inside a lab host, tagged with a comment so their packet
 * counter can be read back: proof, from the kernel, that the fault fired.
 */
import type { Backend } from '../topology/backend.js';
import type { Fault } from './fault.js';

export interface RuleSpec {
  /** Comment that names the rule, e.g. "efl-blackhole". */
  tag: string;
  /** Match, e.g. ["-p","tcp","--syn"]. */
  match: string[];
  /** Target, e.g. ["-j","DROP"]. */
  target: string[];
}

export async function insertInputRule(backend: Backend, host: string, spec: RuleSpec): Promise<void> {
  const r = await backend.exec(host, ['iptables', '-w', '-I', 'INPUT', ...spec.match, '-m', 'comment', '--comment', spec.tag, ...spec.target]);
  if (r.exitCode !== 0) throw new Error(`iptables on ${host} failed: ${r.stderr.trim()}`);
}

/** Packets that matched the tagged INPUT rule so far (0 if the rule is absent). */
export async function inputRulePackets(backend: Backend, host: string, tag: string): Promise<number> {
  const r = await backend.exec(host, ['iptables', '-w', '-L', 'INPUT', '-n', '-v', '-x']);
  return parseRulePackets(r.stdout, tag);
}

export function parseRulePackets(listing: string, tag: string): number {
  let total = 0;
  for (const line of listing.split('\n')) {
    if (!line.includes(`/* ${tag} */`)) continue;
    total += Number(line.trim().split(/\s+/)[0]) || 0;
  }
  return total;
}

/**
 * A fault made of one tagged INPUT rule on the host (its counter is the proof it fired), plus an
 * optional call to the host's instrument (e.g. the server closing its connections).
 */
export function kernelFault(o: {
  type: string;
  describe: string;
  rule: RuleSpec;
  instrument?: string;
  evidence: (host: string, ip: string, packets: number) => string;
}): Fault {
  return {
    type: o.type,
    describe: o.describe,
    async apply(lab, host) {
      await insertInputRule(lab.backend, host, o.rule);
      if (o.instrument) await lab.upstream(host).call(o.instrument);
    },
    async evidence(lab, host) {
      const fired = await inputRulePackets(lab.backend, host, o.rule.tag);
      return { host, fault: o.type, fired, detail: o.evidence(host, lab.ip(host), fired) };
    },
  };
}
