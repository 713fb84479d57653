/**
 * What `lab triage` prints: first what it read, per kind of evidence; then the answer (an incident
 * with its confidence and the evidence for it, "cannot tell" with what would decide, "not one of
 * the lab's incidents" with what Envoy did and the closest, or "needs more"); then the command that
 * reproduces it. `--explain` adds which reading rule took which lines. Also the signatures
 * themselves (--list-signatures).
 */
import { EVIDENCE_KINDS, MARKS, type EvidenceKind, type ReadPaste } from './clue.js';
import { describePattern, isSignature, type SignedScenario } from './signature.js';
import type { Candidate, Support, Triage } from './triage.js';

export interface NextStep {
  envoyVersion?: string;
  configDump?: string;
  /** How the user runs the lab: `npm run` in this repository, `npx envoy-fault-lab` installed. */
  command?: (sub: 'scenario' | 'lab') => string;
  /** The team's own scenarios' folder (--scenarios), and which ids are theirs: their runs need it too. */
  scenarios?: { dir: string; ids: string[] };
}

const npmRun = (sub: 'scenario' | 'lab') => `npm run ${sub} --`;

function nextCommand(c: Candidate, o: NextStep): string[] {
  const run = o.command ?? npmRun;
  const envoy = `${o.envoyVersion ? ` --envoy ${o.envoyVersion}` : ''}${o.scenarios?.ids.includes(c.scenario) ? ` --scenarios ${o.scenarios.dir}` : ''}`;
  if (!o.configDump) return [`${run('scenario')} ${c.scenario} --phase ${c.phase}${envoy}`];
  return [`${run('lab')} import-config ${o.configDump} --scenario ${c.scenario} --name yours`, `${run('scenario')} ${c.scenario} --phase ${c.phase} --config imported-yours${envoy}`];
}

/** "3 access-log entries (2 without a time), 1 caller's view, 14 Envoy debug lines, 2 lines not understood" */
export function readSummary(read: ReadPaste): string {
  const byKind = new Map<EvidenceKind, number>();
  for (const c of read.clues) if (c.says || c.entry || c.mark) byKind.set(c.kind, (byKind.get(c.kind) ?? 0) + (c.entry?.count ?? 1));
  const parts = [...byKind].map(([k, n]) => {
    if (k !== 'access-log') return `${n} × ${EVIDENCE_KINDS[k]}`;
    const entries = read.clues.filter((c) => c.kind === 'access-log' && c.entry);
    const partial = entries.filter((c) => !c.entry!.whole).length;
    return `${n} access-log entr${n === 1 ? 'y' : 'ies'}${partial ? ` (${partial} partial: no time, cut or a fragment)` : ''}`;
  });
  const marks = [...new Set(read.clues.filter((c) => c.mark).map((c) => c.mark!))];
  const unread = read.unread.length ? `; ${read.unread.length} line(s) not understood (first: line ${read.unread[0]!.n}: ${read.unread[0]!.text.trim().slice(0, 60)})` : '';
  return `Read ${read.lineCount} line(s): ${parts.join(', ') || 'nothing triage knows'}${marks.length ? `; marks: ${marks.join(', ')}` : ''}${unread}`;
}

function candidateLines(c: Candidate, n: number, o: NextStep, withCommand: boolean): string[] {
  const lines = [`${n}. ${c.scenario} › ${c.phase} [${c.confidence}: ${c.kinds.length} kind(s) of evidence agree]: ${c.says}`];
  if (c.olderForm) lines.push(`   as ${c.olderForm} writes it`);
  // Supports of one kind and one mark (or one reading) together: the first as the example, every line counted.
  const groups = new Map<string, { first: Support; lines: number[]; n: number }>();
  for (const s of c.support) {
    const key = `${s.kind} ${s.mark ?? s.says}`;
    const g = groups.get(key);
    if (g) {
      g.lines.push(...s.lines);
      g.n++;
    } else groups.set(key, { first: s, lines: [...s.lines], n: 1 });
  }
  for (const { first, lines: at, n } of [...groups.values()].slice(0, 6)) {
    const where = at.length ? ` (line${at.length > 1 ? 's' : ''} ${at.slice(0, 4).join(', ')}${at.length > 4 ? ', …' : ''})` : '';
    lines.push(`   ✓ ${EVIDENCE_KINDS[first.kind]}${where}${n > 1 ? `, ${n} times` : ''}: ${first.says}`);
  }
  if (groups.size > 6) lines.push(`   ✓ … and ${groups.size - 6} more`);
  if (!c.matched && c.missing?.length) lines.push(`   ✗ no entry is ${c.pattern}: the closest failing entry differs in ${c.missing.join(', ')}`);
  for (const f of c.facts) lines.push(`   ${f.holds === true ? '✓' : f.holds === false ? '✗' : '?'} ${f.says}: ${f.evidence}`);
  if (c.unknown.length && c.isMatch) lines.push(`   not in the evidence: ${[...new Set(c.unknown)].slice(0, 4).join('; ')}`);
  if (withCommand) lines.push(...nextCommand(c, o).map((cmd, i) => `   ${i ? '     ' : 'next:'} ${cmd}`));
  return lines;
}

/** The report of one triage, for a person in an incident. */
export function triageText(read: ReadPaste, t: Triage, o: NextStep, explain = false): string {
  const out = [readSummary(read), ''];
  const a = t.answer;
  if (a.kind === 'named') {
    out.push(`This looks like ${a.best.scenario} (${a.best.confidence}):`);
    out.push(...candidateLines(a.best, 1, o, true), '');
    const others = t.candidates.filter((c) => c.isMatch && c !== a.best).slice(0, 3);
    if (others.length) {
      out.push('Also fits, with less evidence:');
      others.forEach((c, i) => out.push(...candidateLines(c, i + 2, o, false)));
    }
  } else if (a.kind === 'undecided') {
    const decide = [...new Set(a.tied.flatMap((c) => c.unknown))].slice(0, 5);
    const names = a.tied.map((c) => c.scenario);
    const list = names.length === 2 ? `${names[0]} from ${names[1]}` : `${names.slice(0, -1).join(', ')} and ${names.at(-1)} apart`;
    out.push(`Cannot tell ${list}: the evidence fits each as well.${decide.length ? ` What would decide: ${decide.join('; ')}.` : ''}`);
    a.tied.forEach((c, i) => out.push(...candidateLines(c, i + 1, o, true), ''));
  } else if (a.kind === 'not-in-lab') {
    out.push("Not one of the lab's incidents.");
    if (a.seen.length) out.push('What the evidence shows:', ...a.seen.map((s) => `  - ${s}`));
    if (a.closest.length) {
      out.push('Closest, and why they do not fit:');
      a.closest.forEach((c, i) => out.push(...candidateLines(c, i + 1, o, false)));
    }
  } else out.push(`Needs more: ${a.why}.`, "Give what you have of the incident: the sidecar's access log (kubectl logs <pod> -c istio-proxy), the app's error, curl -v output, Envoy's debug log, /stats.");
  if (explain) out.push('', ...explainLines(read));
  return out.join('\n').trimEnd();
}

/** Which reading rule took which lines, then the unwrapping rules and the lines not understood. */
export function explainLines(read: ReadPaste): string[] {
  const out = ['How each line was read:'];
  for (const c of read.clues) {
    const what = c.mark ? `mark ${c.mark}` : c.entry ? 'entry' : c.counters ? `${c.counters.size} counter(s)` : c.sockets ? `${c.sockets.length} socket(s)` : 'nothing triage uses';
    out.push(`  line ${c.lines.length ? c.lines.slice(0, 4).join(',') + (c.lines.length > 4 ? ',…' : '') : '-'}: ${c.rule} → ${what}${c.says ? `: ${c.says}` : ''}`);
  }
  for (const u of read.unwrapped) out.push(`  line ${u.n}: took off ${u.rules.join(', ')}`);
  for (const u of read.unread) out.push(`  line ${u.n}: not understood: ${u.text.trim().slice(0, 100)}`);
  return out;
}

/** Every before's signature, or why it has none. */
export function signaturesText(scenarios: SignedScenario[]): string {
  const out: string[] = [];
  for (const s of scenarios) {
    for (const p of s.phases.filter((x) => x.kind === 'before')) {
      const sig = p.signature;
      if (isSignature(sig)) {
        out.push(`${s.id} › ${p.name}: ${sig.says}`);
        if (sig.entries) out.push(`    entries: ${describePattern(sig.entries)}`);
        for (const other of sig.alsoAs ?? []) out.push(`    as ${other.by} writes it: ${describePattern(other.entries)} (${other.source})`);
        for (const m of sig.marks ?? []) out.push(`    mark: ${MARKS[m]}`);
        for (const m of sig.when ?? []) out.push(`    when: ${MARKS[m]}`);
        for (const f of sig.facts ?? []) out.push(`    and: ${f.says}`);
        for (const c of sig.config ?? []) out.push(`    config (--config-dump): ${c.says}`);
        for (const c of sig.counters ?? []) out.push(`    counters (--stats): ${c.says}`);
        for (const c of sig.sockets ?? []) out.push(`    connections (--ss): ${c.says}`);
      } else out.push(`${s.id} › ${p.name}: no signature${sig ? `: ${sig.none}` : ' declared'}`);
    }
  }
  return out.join('\n');
}
