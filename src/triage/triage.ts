/**
 * "Which incident is this?": what a paste gave (read/read-paste.ts) held against every scenario's
 * declared signature (signature.ts), the pod's config_dump, /stats and socket table when given.
 *
 * A candidate fits when some of the evidence agrees with its signature (entries its pattern fits,
 * marks it lists, counters it names) and nothing given contradicts it (a fact or a shape that does
 * not hold). What the evidence does not carry is unknown, never a miss: a curl status says nothing
 * of the cluster. Candidates rank by how many independent kinds of evidence agree, then by how much
 * they agree on (specificity), then by the share of the failures they explain. The answer is then
 * one of: an incident with a confidence; "cannot tell" between the best when thin evidence fits
 * them equally, with what would decide; "not one of the lab's incidents", with what Envoy did and
 * the closest; or "needs more" when nothing in the paste is a failure.
 */
import type { AccessLogEntry } from '../envoy/access-log.js';
import { RESPONSE_FLAGS } from '../envoy/response-flags.js';
import { isFailing, type Candidate } from './candidate.js';
import { EVIDENCE_KINDS, MARKS, type Clue, type EvidenceKind, type Mark, type ReadPaste, type SeenEntry } from './clue.js';
import { groupsOf, judge, type Context } from './judge.js';
import { DETAILS_MEANING } from './read/envoy-replies.js';
import { configOfDump, parseSs, type SocketRow } from './shapes.js';
import { isSignature, type SignedScenario } from './signature.js';

export { isFailing, type Candidate, type Confidence, type FactResult, type Support } from './candidate.js';

export type Answer =
  | { kind: 'named'; best: Candidate }
  | { kind: 'undecided'; tied: Candidate[] }
  | { kind: 'not-in-lab'; seen: string[]; closest: Candidate[] }
  | { kind: 'needs-more'; why: string };

export interface Triage {
  total: number;
  failing: number;
  /** Matches first (best first, one per scenario), then the closest non-matches. */
  candidates: Candidate[];
  answer: Answer;
}

/** What else the user has of the pod: its config (a config_dump), its counters (/stats), its connection table. */
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

/** A whole access log (the lab's or a pod's) as clues, for triage without a paste. */
export const cluesOfEntries = (entries: Array<AccessLogEntry | SeenEntry>): ReadPaste => ({
  clues: entries.map((e, i) => ({ kind: 'access-log', lines: [i + 1], rule: 'an access-log entry', says: '', entry: { whole: true, ...e } })),
  unread: [],
  unwrapped: [],
  lineCount: entries.length,
  wholeLog: true,
});

export function triage(entries: Array<AccessLogEntry | SeenEntry>, scenarios: SignedScenario[], pod: PodEvidence = {}): Triage {
  return triagePaste(cluesOfEntries(entries), scenarios, pod);
}

/** What the user knows of their pod: the Envoy it runs (forms of a signature for other versions are left out). */
export interface TriageOptions {
  envoyVersion?: string;
}

export function triagePaste(read: ReadPaste, scenarios: SignedScenario[], pod: PodEvidence = {}, o: TriageOptions = {}): Triage {
  const entries = read.clues.filter((c) => c.entry);
  const count = (c: Clue) => c.entry?.count ?? 1;
  const failingClues = entries.filter((c) => isFailing(c.entry!));
  const failing = failingClues.reduce((n, c) => n + count(c), 0);
  const pasted = read.clues.filter((c) => c.counters);
  const stats = pod.stats ?? (pasted.length ? new Map(pasted.flatMap((c) => [...c.counters!])) : undefined);
  const sockets = pod.sockets ?? (read.clues.some((c) => c.sockets) ? read.clues.flatMap((c) => c.sockets ?? []) : undefined);
  const ctx: Context = { read, entries, groups: groupsOf(entries), whole: entries.filter((c) => c.entry!.whole).map((c) => c.entry as AccessLogEntry), marked: read.clues.filter((c) => c.mark), failing, stats, statsPartial: !pod.stats, sockets, config: pod.configDump === undefined ? undefined : configOfDump(pod.configDump), envoyVersion: o.envoyVersion };

  const all: Candidate[] = [];
  for (const s of scenarios) for (const p of s.phases) if (isSignature(p.signature)) all.push(judge(s.id, p.name, p.signature, ctx));
  const rank = (c: Candidate) => [c.isMatch ? 1 : 0, c.kinds.length, c.specificity, c.failing ? c.matched / c.failing : 0];
  all.sort((a, b) => {
    const ra = rank(a);
    const rb = rank(b);
    for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return rb[i]! - ra[i]!;
    return 0;
  });
  // One scenario is named once: its best phase.
  const seen = new Set<string>();
  const once = all.filter((c) => !seen.has(`${c.scenario} ${c.isMatch}`) && !!seen.add(`${c.scenario} ${c.isMatch}`));
  const matches = once.filter((c) => c.isMatch);
  const closest = once.filter((c) => !c.isMatch && (c.matched > 0 || c.support.length > 0 || c.nearly));
  const total = entries.reduce((n, c) => n + count(c), 0);
  const candidates = [...matches, ...closest.filter((c) => !matches.some((m) => m.scenario === c.scenario))];
  return { total, failing, candidates, answer: answerOf(matches, closest, read, failing) };
}


function answerOf(matches: Candidate[], closest: Candidate[], read: ReadPaste, failing: number): Answer {
  if (matches.length) {
    const tied = tiedWith(matches);
    if (tied.every((c) => c.thin)) return { kind: 'needs-more', why: `${describeThin(tied)} fits ${tied.length > 1 ? `${tied.map((c) => c.scenario).join(', ')}` : tied[0]!.scenario} and incidents outside the lab alike; ${[...new Set(tied.flatMap((c) => c.unknown))].slice(0, 3).join('; ') || 'more evidence'} would decide` };
    return tied.length > 1 ? { kind: 'undecided', tied } : { kind: 'named', best: tied[0]! };
  }
  const seen = whatEnvoyDid(read);
  const marks = read.clues.filter((c) => c.mark);
  if (!failing && !marks.length) return { kind: 'needs-more', why: read.clues.some((c) => c.entry) ? 'no failure in it: every entry read is a success' : 'nothing in it is an access-log entry, an error, a reply of Envoy or a mark of a mechanism' };
  return { kind: 'not-in-lab', seen: [...seen, ...[...new Set(marks.map((c) => MARKS[c.mark!]))]], closest: closest.slice(0, 3) };
}

/** What the failing entries say Envoy did, in words (for an incident the lab does not reproduce). */
function whatEnvoyDid(read: ReadPaste): string[] {
  const out = new Set<string>();
  for (const c of read.clues) {
    const e = c.entry;
    if (!e || !isFailing(e)) continue;
    const meaning = e.details ? DETAILS_MEANING.find(([r]) => r.test(e.details!))?.[1] : undefined;
    const flags = (e.flags ?? '').split(',').filter((f) => RESPONSE_FLAGS[f]).map((f) => `${f}: ${RESPONSE_FLAGS[f]}`);
    out.add(`${[e.code, e.flags, e.details].filter((x) => x !== undefined).join(' ')}${meaning ? ` (${meaning})` : flags.length ? ` (${flags.join('; ')})` : ''}`);
  }
  return [...out];
}

/**
 * The best match and every other as good: the same kinds of evidence, the same specificity, and
 * about the same share of the failures (a table of 21 UO and 4 UC names the UO incident).
 */
function tiedWith(matches: Candidate[]): Candidate[] {
  const top = matches[0]!;
  const share = (c: Candidate) => (c.failing ? c.matched / c.failing : 0);
  return matches.filter((c) => c.kinds.length === top.kinds.length && c.specificity === top.specificity && share(top) - share(c) < 0.25);
}

const describeThin = (tied: Candidate[]) => `a generic status (${[...new Set(tied.map((c) => c.pattern.split(' ').slice(0, 2).join(' ')))].join(', ')})`;

/** The best match, and every other scenario as good: a tie to tell apart. */
export function bestMatches(t: Triage): Candidate[] {
  const m = t.candidates.filter((c) => c.isMatch);
  return m.length ? tiedWith(m) : [];
}

export const kindName = (k: EvidenceKind) => EVIDENCE_KINDS[k];
export type { Mark };
