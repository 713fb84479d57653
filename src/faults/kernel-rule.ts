/**
 * Kernel-level faults are iptables rules inside a lab host, tagged with a comment so their packet
 * counter can be read back: proof, from the kernel, that the fault fired.
 */
import { LabRuntimeError } from '../errors.js';
import type { Fault, FaultContext } from './fault.js';

export interface RuleSpec {
  /** Comment that names the rule, e.g. "efl-blackhole". */
  tag: string;
  /** Match, e.g. ["-p","tcp","--syn"]. */
  match: string[];
  /** Target, e.g. ["-j","DROP"]. */
  target: string[];
}

async function insertInputRule(ctx: FaultContext, spec: RuleSpec): Promise<void> {
  const r = await ctx.exec(['iptables', '-w', '-I', 'INPUT', ...spec.match, '-m', 'comment', '--comment', spec.tag, ...spec.target]);
  if (r.exitCode !== 0) throw new LabRuntimeError(`iptables on ${ctx.host} refused the ${spec.tag} rule`, { evidence: r.stderr.trim(), fix: 'run `npm run lab -- doctor`: the lab host needs iptables with the comment match' });
}

/** Packets that matched the tagged INPUT rule so far (0 if the rule is absent). */
async function inputRulePackets(ctx: FaultContext, tag: string): Promise<number> {
  const r = await ctx.exec(['iptables', '-w', '-L', 'INPUT', '-n', '-v', '-x']);
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
    async apply(ctx) {
      await insertInputRule(ctx, o.rule);
      if (o.instrument) await ctx.instrument(o.instrument);
    },
    async evidence(ctx) {
      const fired = await inputRulePackets(ctx, o.rule.tag);
      return { host: ctx.host, fault: o.type, fired, detail: o.evidence(ctx.host, ctx.ip, fired) };
    },
  };
}
