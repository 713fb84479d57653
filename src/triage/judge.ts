/**
 * One signature held against what a paste gave: which of its forms fits which entries (judged once
 * per group of alike entries), its facts on whole log lines, its marks, the pod's config, counters
 * and connections where given; what rules it out; how specific the agreement is and how sure.
 */
import type { AccessLogEntry } from '../envoy/access-log.js';
import type { EnvoyResources } from '../envoy/config.js';
import { compareVersions } from '../envoy/version.js';
import { MARKS, type Clue, type EvidenceKind, type Mark, type ReadPaste, type SeenEntry } from './clue.js';
import { isFailing, type Candidate, type Confidence, type FactResult, type Support } from './candidate.js';
import type { SocketRow } from './shapes.js';
import { describePattern, fieldResults, type EntryPattern, type PatternField, type Signature } from './signature.js';

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

export interface Context {
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

export function groupsOf(entries: Clue[]): Context['groups'] {
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

export function judge(scenario: string, phase: string, sig: Signature, ctx: Context): Candidate {
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
