/**
 * What an incident leaves in a sidecar's access log, declared by the scenario that reproduces it
 * (a `before` phase's `signature`), and how a log is held against it. A signature has an entry
 * pattern (code, flags, details, cluster, …: at least two of them, so one shared flag never makes
 * a match) and facts about the matching entries as a group (one downstream connection, the
 * upstream host staying, durations at a timeout). Entries are the lab's shape, whatever the log's
 * form (read-access-log.ts): a downstream connection is its id in the lab's log, the caller's
 * address:port in Istio's.
 */
import type { AccessLogEntry } from '../envoy/access-log.js';
import { compareVersions } from '../envoy/version.js';
import type { Mark, SeenEntry } from './clue.js';
import type { ConfigShape, CounterShape, SocketShape } from './shapes.js';

export interface EntryPattern {
  kind?: 'http' | 'tcp';
  code?: number | readonly number[];
  /** Every one of these response flags is in the entry's (e.g. 'UF' matches "UF,URX"). */
  flags?: string;
  /** %RESPONSE_CODE_DETAILS%. */
  details?: RegExp;
  /** %UPSTREAM_CLUSTER% (Istio's trailing ";" removed). */
  cluster?: RegExp;
  method?: string;
  /** Envoy answered without choosing an upstream host. */
  noUpstreamHost?: boolean;
  /** %DURATION% within `within` ms of `near`. */
  duration?: { near: number; within: number };
  /** %DOWNSTREAM_LOCAL_CLOSE_REASON% (Envoy ≥ 1.38; the lab's log has it, Istio's default format does not). */
  closeReason?: RegExp;
  /** %PROTOCOL% of the request (HTTP/1.0, HTTP/1.1, HTTP/2). */
  protocol?: RegExp;
}

/** Pattern fields Istio's default access-log format does not carry: a signature using one is recognised in the lab's log only. */
export const LAB_LOG_ONLY: ReadonlyArray<keyof EntryPattern> = ['closeReason'];

/**
 * A fact about the matching entries as a group; `holds` says whether, and the evidence. Undefined
 * when the entries cannot tell (one entry where a fact needs two, a field the log does not carry).
 */
export interface SignatureFact {
  says: string;
  holds: (matching: AccessLogEntry[], all: AccessLogEntry[], o: FactContext) => { holds: boolean | undefined; evidence: string };
}

/**
 * Whether the entries are a pasted excerpt (grep 503: what is absent from it may have happened) or
 * a whole log (a lab run's, or a file the user gave as the pod's log: what is absent did not).
 */
export interface FactContext {
  excerpt: boolean;
}

/**
 * The same incident as another log writes it: an older Envoy or Istio, or the other side's sidecar
 * (the server's, where the client's is the main form); with who writes it so and how that was settled.
 */
export interface OtherForm {
  entries: EntryPattern;
  /** e.g. "Envoy ≤ 1.26", "the server's sidecar": what writes it this way. */
  by: string;
  /** How it was settled: the lab's run on that version, or Envoy's / Istio's history (a commit, an issue). */
  source: string;
  /** The last Envoy that writes it so (left out when the user's Envoy is newer). */
  until?: string;
}

export interface Signature {
  /** The diagnosis in a line: what the incident is. */
  says: string;
  /** What Envoy logs for it (at least two fields). Absent for an incident Envoy's log does not show. */
  entries?: EntryPattern;
  /** The first Envoy that writes `entries` so (left out when the user's Envoy is older). */
  since?: string;
  alsoAs?: OtherForm[];
  /**
   * What else it leaves, in any kind of evidence: the app's errors, Envoy's debug lines,
   * pilot-agent's lines (clue.ts MARKS). The scenario suite holds each against the before's own run.
   */
  marks?: Mark[];
  /** When it happens in a pod's life, as a person's paste may show it (a start-up panic): not seen in a run. */
  when?: Mark[];
  /** Marks from real reports that the lab's runs do not produce (a heap profile), each with its report. */
  reported?: Array<{ mark: Mark; source: string }>;
  facts?: SignatureFact[];
  /** What the incident needs of the sidecar's config: held against a config_dump when one is given (triage --config-dump). */
  config?: ConfigShape[];
  /** What it leaves in Envoy's counters: held against /stats when given (triage --stats). */
  counters?: CounterShape[];
  /** What the pod's connection table shows: held against `ss -tanp` when given (triage --ss). */
  sockets?: SocketShape[];
}

/** A before whose incident leaves no mark of Envoy's own in the access log, and why (listed by --list-signatures). */
export interface NoSignature {
  none: string;
}

/** What triage needs of a scenario (src/scenario's Scenario has it): its id and its phases' signatures. */
export interface SignedScenario {
  id: string;
  phases: ReadonlyArray<{ name: string; kind: string; signature?: Signature | NoSignature }>;
}

export const isSignature = (s: Signature | NoSignature | undefined): s is Signature => !!s && 'says' in s && !('none' in s);

const PATTERN_FIELDS = ['kind', 'code', 'flags', 'details', 'cluster', 'method', 'noUpstreamHost', 'duration', 'closeReason', 'protocol'] as const;
export type PatternField = (typeof PATTERN_FIELDS)[number];

/** How many things a pattern says (a signature needs two). */
export const patternSize = (p: EntryPattern) => PATTERN_FIELDS.filter((f) => p[f] !== undefined).length;

/**
 * Each field of the pattern and whether the entry has it: true, false, or undefined when the entry
 * does not carry that field (a fragment, an older format, a caller's view). An entry whose `known`
 * is absent came from a whole log line of the lab's format: it carries every field.
 */
export function fieldResults(p: EntryPattern, a: SeenEntry, o: { envoyVersion?: string } = {}): Array<{ field: PatternField; ok: boolean | undefined }> {
  const carries = (...f: Array<keyof SeenEntry>) => a.known === undefined || f.some((x) => a.known!.includes(x as string) || a[x] !== undefined);
  const has = (f: PatternField): boolean | undefined => {
    switch (f) {
      case 'kind':
        return a.kind === undefined ? undefined : a.kind === p.kind;
      case 'code':
        if (a.code === undefined) return carries('code') ? false : undefined;
        return typeof p.code === 'number' ? a.code === p.code : (p.code as readonly number[]).includes(a.code);
      case 'flags': {
        // A reply body from Envoy ≥ 1.22 that does not say "retried" rules out URX (retries exhausted).
        if (a.flags === undefined && a.retried === false && o.envoyVersion && compareVersions(o.envoyVersion, '1.22.0') >= 0 && p.flags!.split(',').includes('URX')) return false;
        if (!carries('flags')) return undefined;
        const have = (a.flags ?? '').split(',');
        return p.flags!.split(',').every((x) => have.includes(x));
      }
      case 'details':
        if (a.details !== undefined) return p.details!.test(a.details);
        // Older formats carry the transport failure reason where details now are: it can confirm, never deny.
        if (a.up_fail !== undefined && p.details!.test(a.up_fail)) return true;
        return carries('details') ? false : undefined;
      case 'cluster':
        return carries('up_cluster') ? p.cluster!.test(a.up_cluster ?? '') : undefined;
      case 'method':
        return a.method === undefined ? (carries('method') ? false : undefined) : a.method === p.method;
      case 'noUpstreamHost':
        return carries('up_host') ? p.noUpstreamHost === (a.up_host === undefined) : undefined;
      case 'duration': {
        if (a.duration_ms === undefined) return carries('duration_ms') ? false : undefined;
        const { near, within } = p.duration!;
        if (!a.durationByClient) return Math.abs(a.duration_ms - near) <= within;
        // The caller's clock adds its own connect, TLS and transfer to Envoy's: shorter than the window denies, a little longer confirms.
        if (a.duration_ms < near - within) return false;
        return a.duration_ms <= near + within + Math.max(1000, near * 0.1) ? true : undefined;
      }
      case 'closeReason':
        return carries('ds_close') ? p.closeReason!.test(a.ds_close ?? '') : undefined;
      case 'protocol':
        return a.protocol === undefined ? undefined : p.protocol!.test(a.protocol);
    }
  };
  return PATTERN_FIELDS.filter((f) => p[f] !== undefined).map((field) => ({ field, ok: has(field) }));
}

export const matches = (p: EntryPattern, a: SeenEntry) => fieldResults(p, a).every((r) => r.ok === true);

/** A pattern as a person reads it: no escapes, no anchors, alternatives with "or". */
const readable = (r: RegExp) =>
  r.source
    .replace(/^\^|\$$/g, '')
    .split(/(?<!\\)\|/)
    .map((alt) => alt.replace(/\\/g, ''))
    .filter(Boolean)
    .join(' or ');

/** "503 UF upstream_reset_before_response_started{connection_timeout} → PassthroughCluster" */
export function describePattern(p: EntryPattern): string {
  const parts = [
    p.kind === 'tcp' ? 'TCP' : undefined,
    p.method,
    p.code === undefined ? undefined : typeof p.code === 'number' ? String(p.code) : (p.code as readonly number[]).join('/'),
    p.flags,
    p.details ? readable(p.details) : undefined,
    p.cluster ? `→ ${readable(p.cluster)}` : undefined,
    p.noUpstreamHost ? '(Envoy answered, no upstream host)' : undefined,
    p.duration ? `after ${p.duration.near} ± ${p.duration.within} ms` : undefined,
    p.closeReason ? `closed by Envoy: ${p.closeReason.source}` : undefined,
    p.protocol ? readable(p.protocol) : undefined,
  ];
  return parts.filter(Boolean).join(' ');
}
