/**
 * Kernel-level faults are iptables rules inside a lab host, tagged with a comment so their packet
 * counter can be read back: proof, from the kernel, that the fault fired.
 */
import type { Backend } from '../topology/backend.js';

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
