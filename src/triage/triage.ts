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
import type { EnvoyResources } from '../envoy/config.js';
import { RESPONSE_FLAGS } from '../envoy/response-flags.js';
import { EVIDENCE_KINDS, MARKS, type Clue, type EvidenceKind, type Mark, type ReadPaste, type SeenEntry } from './clue.js';
import { DETAILS_MEANING } from './read/envoy-replies.js';
import { compareVersions } from '../envoy/version.js';
import { configOfDump, parseSs, type SocketRow } from './shapes.js';
import { describePattern, fieldResults, isSignature, type EntryPattern, type PatternField, type Signature, type SignedScenario } from './signature.js';

export interface FactResult {
  says: string;
  /** Undefined: the evidence cannot tell. */
  holds: boolean | undefined;
  evidence: string;
}

export interface Support {
  kind: EvidenceKind;
  says: string;
  lines: number[];
  /** The mark it shows, when it is one (supports of one mark are shown together). */
  mark?: Mark;
}

export type Confidence = 'strong' | 'likely' | 'weak';

export interface Candidate {
  scenario: string;
  phase: string;
  says: string;
  pattern: string;
  /** Requests whose entries the pattern fits (a table row counts its requests), of the failing ones and of all. */
  matched: number;
  failing: number;
  total: number;
  facts: FactResult[];
  support: Support[];
  /** The independent kinds of evidence that agree. */
  kinds: EvidenceKind[];
  specificity: number;
  /** Some evidence agrees and none contradicts. */
  isMatch: boolean;
  /** Another form of the entries matched (an older Envoy's, the other side's): who writes it so. */
  olderForm?: string;
  /** For a pattern that fits nothing: the fields the closest failing entry lacks. */
  missing?: string[];
  /** What the signature would check that the evidence does not carry: what would decide. */
  unknown: string[];
  confidence: Confidence;
  /** Only a generic status and flags agree (503 UF): too little to name an incident. */
  thin: boolean;
  /** No entry fits, but a failing one shares two fields with the pattern: worth showing as the closest. */
  nearly: boolean;
}

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

/** An entry that is a failure: an HTTP error status, no response, or a response flag Envoy set. */
export const isFailing = (a: SeenEntry) =>
  a.kind === 'tcp' ? a.flags !== undefined : (a.code !== undefined && (a.code === 0 || a.code >= 400)) || a.flags !== undefined || (a.details !== undefined && a.details !== 'via_upstream');

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

const DECIDERS: Partial<Record<PatternField, string>> = {
  cluster: "the access log's upstream cluster (outbound|… or inbound|…)",
  details: "the access log's RESPONSE_CODE_DETAILS (Istio ≥ 1.9 writes it)",
  flags: "the access log's response flags",
  code: 'the response code',
  noUpstreamHost: "the access log's upstream host",
  duration: "the access log's duration",
  closeReason: "the lab's access log (DOWNSTREAM_LOCAL_CLOSE_REASON)",
  method: 'the request method',
  kind: 'whether it was HTTP or TCP',
  protocol: "the request's protocol",
};

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


interface Context {
  read: ReadPaste;
  entries: Clue[];
  /** Entries alike in every field a pattern reads, judged once (a log of 100,000 lines has a few hundred kinds). */
  groups: Array<{ entry: SeenEntry; clues: Clue[]; failing: boolean }>;
  /** The whole access-log lines, for facts about the group. */
  whole: AccessLogEntry[];
  /** The clues that are marks. */
  marked: Clue[];
  failing: number;
  stats?: Map<string, number>;
  statsPartial: boolean;
  sockets?: SocketRow[];
  config?: EnvoyResources;
  envoyVersion?: string;
}

/** What a pattern can read of an entry: entries equal in it are judged once. */
const patternKey = (e: SeenEntry) => JSON.stringify([e.kind, e.code, e.flags, e.details, e.up_cluster, e.method, e.protocol, e.up_host === undefined, e.duration_ms, e.ds_close, e.up_fail, e.known, e.retried, e.durationByClient]);

function groupsOf(entries: Clue[]): Context['groups'] {
  const groups = new Map<string, Context['groups'][number]>();
  for (const c of entries) {
    const key = patternKey(c.entry!);
    const g = groups.get(key);
    if (g) g.clues.push(c);
    else groups.set(key, { entry: c.entry!, clues: [c], failing: isFailing(c.entry!) });
  }
  return [...groups.values()];
}

/** Fields and values that many incidents share: a match on these alone is too thin to name one. */
const GENERIC_FIELDS = new Set<PatternField>(['code', 'flags', 'kind', 'method']);
const GENERIC_CODES = new Set([0, 500, 502, 503, 504]);
const GENERIC_FLAGS = new Set(['UF', 'UC', 'URX', 'UH']);

/** How much a pattern's fields agree: each flag counts, details count twice (they name the mechanism). */
const weightOf = (p: EntryPattern, results: Array<{ field: PatternField; ok: boolean | undefined }>) =>
  results.filter((r) => r.ok === true).reduce((n, r) => n + (r.field === 'details' ? 2 : r.field === 'flags' ? p.flags!.split(',').length : 1), 0);

function judge(scenario: string, phase: string, sig: Signature, ctx: Context): Candidate {
  // The forms for the user's Envoy (all when they did not say): the current one, and older Envoys' or the other side's.
  const v = ctx.envoyVersion;
  const forms: Array<{ entries: EntryPattern; by?: string }> = [
    ...(sig.entries && !(v && sig.since && compareVersions(v, sig.since) < 0) ? [{ entries: sig.entries }] : []),
    ...(sig.alsoAs ?? []).filter((o) => !(v && o.until && compareVersions(v, o.until) > 0)).map((o) => ({ entries: o.entries, by: `${o.by} (${o.source})` })),
  ];
  // The form that fits the most evidence.
  let best: { fits: Clue[]; weight: number; form?: { entries: EntryPattern; by?: string }; unknown: PatternField[]; agreed: Set<PatternField> } = { fits: [], weight: 0, unknown: [], agreed: new Set() };
  let nearly = false;
  for (const form of forms) {
    const fits: Clue[] = [];
    let weight = 0;
    const unknown = new Set<PatternField>();
    const agreed = new Set<PatternField>();
    for (const g of ctx.groups) {
      const r = fieldResults(form.entries, g.entry, { envoyVersion: v });
      if (r.some((x) => x.ok === false)) {
        if (g.failing && r.filter((x) => x.ok === true).length >= 2) nearly = true;
        continue;
      }
      const w = weightOf(form.entries, r);
      if (w < 2) continue;
      fits.push(...g.clues);
      weight = Math.max(weight, w);
      r.filter((x) => x.ok === undefined).forEach((x) => unknown.add(x.field));
      r.filter((x) => x.ok === true).forEach((x) => agreed.add(x.field));
    }
    const n = fits.reduce((k, c) => k + (c.entry!.count ?? 1), 0);
    const bestN = best.fits.reduce((k, c) => k + (c.entry!.count ?? 1), 0);
    if (weight > best.weight || (weight === best.weight && n > bestN)) best = { fits, weight, form, unknown: [...unknown], agreed };
  }
  const support: Support[] = best.fits.map((c) => ({ kind: c.kind, says: c.says || c.rule, lines: c.lines }));
  // Facts about the group, on whole access-log entries only.
  const whole = ctx.whole;
  const wholeFits = best.fits.filter((c) => c.entry!.whole).map((c) => c.entry as AccessLogEntry);
  const excerpt = !ctx.read.wholeLog;
  const facts: FactResult[] = (sig.facts ?? []).map((f) => (wholeFits.length ? { says: f.says, ...f.holds(wholeFits, whole, { excerpt }) } : { says: f.says, holds: undefined, evidence: 'needs whole access-log lines' }));
  // A whole log (a run's: its access log, the app's errors, Envoy's log) without the incident's
  // entries or marks says it did not happen; an excerpt cannot say so.
  if (!excerpt && forms.length && whole.length && !best.fits.some((c) => c.kind === 'access-log')) facts.push({ says: 'its entries are in the access log', holds: false, evidence: `none of the ${whole.length} entries of the whole log is ${describePattern(forms[0]!.entries)}` });
  if (ctx.read.wholeRun) for (const m of (sig.marks ?? []).filter((x) => !ctx.marked.some((c) => c.mark === x))) facts.push({ says: `its mark: ${MARKS[m]}`, holds: false, evidence: 'not in the whole run' });
  // Marks the paste shows that the incident leaves.
  const reportedAs = (m: Mark) => sig.reported?.find((r) => r.mark === m)?.source;
  const marksSeen = ctx.marked.filter((c) => sig.marks?.includes(c.mark!) || reportedAs(c.mark!));
  // When in the pod's life it happened (start-up, termination): context for a match.
  const whenSeen = ctx.marked.filter((c) => sig.when?.includes(c.mark!));
  for (const c of [...marksSeen, ...whenSeen]) support.push({ kind: c.kind, mark: c.mark, says: `${MARKS[c.mark!]}${c.says ? `: ${c.says}` : ''}${reportedAs(c.mark!) ? ` (as in ${reportedAs(c.mark!)})` : ''}`, lines: c.lines });
  // The pod's config, counters and connections, where given (or pasted).
  const shapes: FactResult[] = [];
  if (ctx.config) for (const s of sig.config ?? []) shapes.push({ says: `config: ${s.says}`, ...s.holds(ctx.config) });
  if (ctx.stats) {
    for (const s of sig.counters ?? []) {
      const about = s.about;
      if (ctx.statsPartial && about && ![...ctx.stats.keys()].some((k) => about.test(k))) shapes.push({ says: `counters: ${s.says}`, holds: undefined, evidence: 'not among the counters pasted' });
      else shapes.push({ says: `counters: ${s.says}`, ...s.holds(ctx.stats) });
    }
  }
  if (ctx.sockets) for (const s of sig.sockets ?? []) shapes.push({ says: `connections: ${s.says}`, ...s.holds(ctx.sockets) });
  for (const s of shapes.filter((x) => x.holds === true)) support.push({ kind: s.says.startsWith('config') ? 'config-dump' : s.says.startsWith('counters') ? 'stats' : 'sockets', says: `${s.says}: ${s.evidence}`, lines: [] });
  const checks = [...facts, ...shapes];
  const ruledOut = checks.some((f) => f.holds === false);
  const matched = best.fits.reduce((k, c) => k + (c.entry!.count ?? 1), 0);
  const kinds = [...new Set(support.map((s) => s.kind))];
  const specificity = best.weight + checks.filter((f) => f.holds === true).length + 2 * new Set(marksSeen.map((c) => c.mark)).size + new Set(whenSeen.map((c) => c.mark)).size;
  const unknown = [
    ...best.unknown.map((f) => DECIDERS[f]!),
    ...(facts.some((f) => f.holds === undefined) ? ['more of the access log (the successes around the failures, connections, hosts)'] : []),
    ...(sig.config?.length && !ctx.config ? ['the config_dump (--config-dump)'] : []),
    ...(sig.counters?.length && !ctx.stats ? ['/stats (--stats)'] : []),
    ...(sig.marks ?? []).filter((m) => !marksSeen.some((c) => c.mark === m)).map((m) => MARKS[m]),
  ];
  const base = { scenario, phase, says: sig.says, pattern: sig.entries ? describePattern(sig.entries) : (sig.marks ?? []).map((m) => MARKS[m]).join('; '), matched, failing: ctx.failing, total: ctx.entries.length, facts: checks, support, kinds, specificity, unknown, olderForm: best.form?.by };
  // Thin: only a generic status and generic flags agree (503 UF, 503 UC), nothing else: many incidents, in the lab and not, look so.
  const p = best.form?.entries;
  const thin = best.fits.length > 0 && !marksSeen.length && !whenSeen.length && !checks.some((f) => f.holds === true) && kinds.length <= 1 && [...best.agreed].every((f) => GENERIC_FIELDS.has(f)) && (p?.code === undefined || (typeof p.code === 'number' ? GENERIC_CODES.has(p.code) : p.code.every((c) => GENERIC_CODES.has(c)))) && (p?.flags ?? '').split(',').filter(Boolean).every((f) => GENERIC_FLAGS.has(f));
  // When in the pod's life (a sidecar terminating) matches alone only in an excerpt: a whole run shows whether the incident followed.
  const isMatch = support.length > 0 && !ruledOut && (best.fits.length > 0 || marksSeen.length > 0 || shapes.some((s) => s.holds === true && !s.says.startsWith('config')) || (!ctx.read.wholeRun && whenSeen.length > 0));
  const missing = best.fits.length || !sig.entries ? undefined : closestMissing(sig.entries, ctx);
  return { ...base, isMatch, missing, thin, nearly: nearly && !best.fits.length, confidence: confidenceOf(kinds, specificity, checks, best.weight) };
}

/** The fields the failing entry closest to the pattern lacks. */
function closestMissing(p: EntryPattern, ctx: Context): string[] | undefined {
  const failing = ctx.groups.filter((g) => g.failing);
  if (!failing.length) return undefined;
  const results = failing.map((g) => fieldResults(p, g.entry)).sort((x, y) => y.filter((r) => r.ok).length - x.filter((r) => r.ok).length)[0]!;
  return results.filter((r) => r.ok === false).map((r) => r.field);
}

/**
 * Strong: two independent kinds agree on something specific, or whole log lines fit a specific
 * pattern and its facts hold. Likely: one kind, but specific (code, flags and details; or a mark
 * and a status). Weak: the rest (a status and a length, one generic mark).
 */
function confidenceOf(kinds: EvidenceKind[], specificity: number, checks: FactResult[], weight: number): Confidence {
  const held = checks.filter((f) => f.holds === true).length;
  if ((kinds.length >= 2 && specificity >= 4) || (weight >= 3 && held >= 1)) return 'strong';
  if (specificity >= 4 || (kinds.length >= 2 && specificity >= 3)) return 'likely';
  return 'weak';
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
