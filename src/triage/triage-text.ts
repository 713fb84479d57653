/**
 * What `npm run lab -- triage` prints: the candidates as a diagnosis (what matched, what did not,
 * the command that reproduces it), or that nothing matches and the closest, with why not; and the
 * signatures themselves (--list-signatures).
 */
import type { ReadLog } from './read-access-log.js';
import { describePattern, isSignature, type SignedScenario } from './signature.js';
import { bestMatches, type Candidate, type Triage } from './triage.js';

const FORMAT_NAME = { 'istio-text': "Istio's text format", 'istio-json': "Istio's JSON encoding", 'lab-json': "the lab's access.jsonl" } as const;

export interface NextStep {
  envoyVersion?: string;
  configDump?: string;
}

function nextCommand(c: Candidate, o: NextStep): string[] {
  const envoy = o.envoyVersion ? ` --envoy ${o.envoyVersion}` : '';
  if (!o.configDump) return [`npm run scenario -- ${c.scenario} --phase ${c.phase}${envoy}`];
  return [`npm run lab -- import-config ${o.configDump} --scenario ${c.scenario} --name yours`, `npm run scenario -- ${c.scenario} --phase ${c.phase} --config imported-yours${envoy}`];
}

function candidateLines(c: Candidate, n: number, o: NextStep): string[] {
  const lines = [`${n}. ${c.scenario} › ${c.phase}: ${c.says}`];
  if (c.matched) lines.push(`   ✓ ${c.matched} of ${c.total} entries ${c.matched === 1 ? 'is' : 'are'} ${c.pattern} (${c.failing} failing in all)`);
  else lines.push(`   ✗ no entry is ${c.pattern}: the closest failing entry differs in ${c.missing?.join(', ')}`);
  for (const f of c.facts) lines.push(`   ${f.holds ? '✓' : '✗'} ${f.says}: ${f.evidence}`);
  if (c.isMatch) lines.push(...nextCommand(c, o).map((cmd, i) => `   ${i ? '     ' : 'next:'} ${cmd}`));
  return lines;
}

/** The report of one triage, for a person in an incident. */
export function triageText(log: ReadLog, t: Triage, o: NextStep): string {
  const out = [`${t.total} entr${t.total === 1 ? 'y' : 'ies'} read (${FORMAT_NAME[log.format]}), ${t.failing} failing${log.skipped.length ? `; ${log.skipped.length} line(s) were not entries (first: line ${log.skipped[0]!.line}, ${log.skipped[0]!.why})` : ''}`, ''];
  const matches = t.candidates.filter((c) => c.isMatch);
  if (matches.length) {
    const tied = new Set(bestMatches(t).map((c) => c.scenario));
    out.push(tied.size > 1 ? `These incidents fit equally well (${tied.size}); each one's checks tell them apart when you run it:` : 'The incident this looks like, best first:');
    matches.forEach((c, i) => out.push(...candidateLines(c, i + 1, o), ''));
    return out.join('\n').trimEnd();
  }
  out.push(t.failing ? 'No scenario\'s signature matches this log.' : 'No failing entries: nothing in this log for a signature to match.');
  const closest = t.candidates.slice(0, 3);
  if (closest.length) {
    out.push('Closest, and why they do not fit:');
    closest.forEach((c, i) => out.push(...candidateLines(c, i + 1, o)));
  }
  return out.join('\n').trimEnd();
}

/** Every before's signature, or why it has none. */
export function signaturesText(scenarios: SignedScenario[]): string {
  const out: string[] = [];
  for (const s of scenarios) {
    for (const p of s.phases.filter((x) => x.kind === 'before')) {
      const sig = p.signature;
      if (isSignature(sig)) {
        out.push(`${s.id} › ${p.name}: ${sig.says}`, `    entries: ${describePattern(sig.entries)}`);
        for (const f of sig.facts ?? []) out.push(`    and: ${f.says}`);
        for (const c of sig.config ?? []) out.push(`    config (--config-dump): ${c.says}`);
        for (const c of sig.counters ?? []) out.push(`    counters (--stats): ${c.says}`);
        for (const c of sig.sockets ?? []) out.push(`    connections (--ss): ${c.says}`);
      } else out.push(`${s.id} › ${p.name}: no signature${sig ? `: ${sig.none}` : ' declared'}`);
    }
  }
  return out.join('\n');
}
