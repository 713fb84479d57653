/**
 * "Which incident is this?": a pod's access log held against every scenario's declared signature
 * (signature.ts). A candidate is a scenario whose pattern matches entries of the log and whose
 * facts all hold on them; candidates rank by how much their signature says (fields and facts),
 * then by the share of the log's failing entries they explain. Signatures whose pattern matches
 * nothing, or whose facts do not hold, are the "closest, and why not": never a match.
 */
import type { AccessLogEntry } from '../envoy/access-log.js';
import type { EnvoyResources } from '../envoy/config.js';
import { configOfDump, parseSs, type SocketRow } from './shapes.js';
import { describePattern, fieldResults, isSignature, matches, patternSize, type Signature, type SignedScenario } from './signature.js';

export interface FactResult {
  says: string;
  holds: boolean;
  evidence: string;
}

export interface Candidate {
  scenario: string;
  phase: string;
  says: string;
  /** Entries the pattern matched, and the failing entries of the log. */
  matched: number;
  failing: number;
  total: number;
  pattern: string;
  facts: FactResult[];
  /** All facts hold: a match. Otherwise the closest, with what did not fit. */
  isMatch: boolean;
  /** For a pattern that matched nothing: the fields no failing entry has. */
  missing?: string[];
  /** Fields in the pattern; with the facts, how much the signature says. */
  fields: number;
  specificity: number;
}

/** An entry that is a failure: an HTTP error status, no response, or a response flag Envoy set. */
export const isFailing = (a: AccessLogEntry) => (a.kind === 'http' ? a.code === undefined || a.code === 0 || a.code >= 400 : a.flags !== undefined);

export interface Triage {
  total: number;
  failing: number;
  /** Matches first (best first), then the closest non-matches. */
  candidates: Candidate[];
}

/** What else the user has of the pod: its config (a config_dump) and its counters (/stats). */
export interface PodEvidence {
  configDump?: unknown;
  stats?: Map<string, number>;
  /** Its connection table (`ss -tanp`), parsed. */
  sockets?: SocketRow[];
}

/** A lab run's own config_dump and end-of-phase /stats, as a user would give theirs. */
export function podEvidence(e: { data: { configDump: string | null; statsAfter: Record<string, number> | null; snapshots: Record<string, string> } }): PodEvidence {
  const tables = Object.values(e.data.snapshots);
  return {
    configDump: e.data.configDump ? JSON.parse(e.data.configDump) : undefined,
    stats: e.data.statsAfter ? new Map(Object.entries(e.data.statsAfter)) : undefined,
    sockets: tables.length ? tables.flatMap(parseSs) : undefined,
  };
}

export function triage(entries: AccessLogEntry[], scenarios: SignedScenario[], pod: PodEvidence = {}): Triage {
  const failing = entries.filter(isFailing);
  const config = pod.configDump === undefined ? undefined : configOfDump(pod.configDump);
  const candidates: Candidate[] = [];
  for (const s of scenarios) {
    for (const p of s.phases) {
      if (!isSignature(p.signature)) continue;
      candidates.push(judge(s.id, p.name, p.signature, entries, failing, { config, stats: pod.stats, sockets: pod.sockets }));
    }
  }
  const rank = (c: Candidate) => [c.isMatch ? 1 : 0, c.matched > 0 ? 1 : 0, c.specificity, c.failing ? c.matched / c.failing : 0, c.facts.filter((f) => f.holds).length];
  candidates.sort((a, b) => {
    const ra = rank(a);
    const rb = rank(b);
    for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return rb[i]! - ra[i]!;
    return 0;
  });
  // One scenario's befores may share a mark (protocol-mismatch's two directions): named once.
  const seen = new Set<string>();
  const once = candidates.filter((c) => {
    const key = `${c.scenario} ${c.pattern} ${c.isMatch}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return { total: entries.length, failing: failing.length, candidates: once.filter((c) => c.isMatch || c.matched > 0 || (c.missing !== undefined && c.missing.length < c.fields)) };
}

function judge(scenario: string, phase: string, sig: Signature, all: AccessLogEntry[], failing: AccessLogEntry[], pod: { config?: EnvoyResources; stats?: Map<string, number>; sockets?: SocketRow[] }): Candidate {
  const matched = all.filter((a) => matches(sig.entries, a));
  const base = { scenario, phase, says: sig.says, matched: matched.length, failing: failing.length, total: all.length, pattern: describePattern(sig.entries), fields: patternSize(sig.entries), specificity: patternSize(sig.entries) + (sig.facts?.length ?? 0) };
  if (!matched.length) {
    // The failing entry closest to the pattern, and the fields it lacks.
    const best = failing
      .map((a) => fieldResults(sig.entries, a))
      .sort((x, y) => y.filter((r) => r.ok).length - x.filter((r) => r.ok).length)[0];
    return { ...base, facts: [], isMatch: false, missing: best ? best.filter((r) => !r.ok).map((r) => r.field) : fieldResults(sig.entries, {} as AccessLogEntry).map((r) => r.field) };
  }
  // The config and counter shapes count only where the user gave that evidence: then a shape that
  // does not hold rules the candidate out, and one that holds makes it more specific.
  const shapes = [
    ...(pod.config ? (sig.config ?? []).map((c) => ({ says: `config: ${c.says}`, ...c.holds(pod.config!) })) : []),
    ...(pod.stats ? (sig.counters ?? []).map((c) => ({ says: `counters: ${c.says}`, ...c.holds(pod.stats!) })) : []),
    ...(pod.sockets ? (sig.sockets ?? []).map((c) => ({ says: `connections: ${c.says}`, ...c.holds(pod.sockets!) })) : []),
  ];
  const facts = [...(sig.facts ?? []).map((f) => ({ says: f.says, ...f.holds(matched, all) })), ...shapes];
  return { ...base, specificity: base.specificity + shapes.length, facts, isMatch: facts.every((f) => f.holds) };
}

/** The matches that rank first together: the log cannot tell them apart (e.g. two incidents with the same mark). */
export function bestMatches(t: Triage): Candidate[] {
  const matches = t.candidates.filter((c) => c.isMatch);
  const [first] = matches;
  return first ? matches.filter((c) => c.specificity === first.specificity && c.matched === first.matched) : [];
}
