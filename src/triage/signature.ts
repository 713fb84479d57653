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
import type { ConfigShape, CounterShape, SocketRow, SocketShape } from './shapes.js';

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
}

/** Pattern fields Istio's default access-log format does not carry: a signature using one is recognised in the lab's log only. */
export const LAB_LOG_ONLY: ReadonlyArray<keyof EntryPattern> = ['closeReason'];

/** A fact about the matching entries as a group; `holds` says whether, and the evidence. */
export interface SignatureFact {
  says: string;
  holds: (matching: AccessLogEntry[], all: AccessLogEntry[]) => { holds: boolean; evidence: string };
}

export interface Signature {
  /** The diagnosis in a line: what the incident is. */
  says: string;
  entries: EntryPattern;
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

export const isSignature = (s: Signature | NoSignature | undefined): s is Signature => !!s && 'entries' in s;

const PATTERN_FIELDS = ['kind', 'code', 'flags', 'details', 'cluster', 'method', 'noUpstreamHost', 'duration', 'closeReason'] as const;
export type PatternField = (typeof PATTERN_FIELDS)[number];

/** How many things a pattern says (a signature needs two). */
export const patternSize = (p: EntryPattern) => PATTERN_FIELDS.filter((f) => p[f] !== undefined).length;

/** Each field of the pattern and whether the entry has it. */
export function fieldResults(p: EntryPattern, a: AccessLogEntry): Array<{ field: PatternField; ok: boolean }> {
  const has = (f: PatternField): boolean => {
    switch (f) {
      case 'kind':
        return a.kind === p.kind;
      case 'code':
        return typeof p.code === 'number' ? a.code === p.code : (p.code as readonly number[]).includes(a.code ?? -1);
      case 'flags':
        return p.flags!.split(',').every((f) => (a.flags ?? '').split(',').includes(f));
      case 'details':
        return p.details!.test(a.details ?? '');
      case 'cluster':
        return p.cluster!.test(a.up_cluster ?? '');
      case 'method':
        return a.method === p.method;
      case 'noUpstreamHost':
        return p.noUpstreamHost === (a.up_host === undefined);
      case 'duration':
        return a.duration_ms !== undefined && Math.abs(a.duration_ms - p.duration!.near) <= p.duration!.within;
      case 'closeReason':
        return p.closeReason!.test(a.ds_close ?? '');
    }
  };
  return PATTERN_FIELDS.filter((f) => p[f] !== undefined).map((field) => ({ field, ok: has(field) }));
}

export const matches = (p: EntryPattern, a: AccessLogEntry) => fieldResults(p, a).every((r) => r.ok);

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
  ];
  return parts.filter(Boolean).join(' ');
}

/** The downstream connection of an entry: its id in the lab's log, the caller's address:port otherwise. */
export const downstreamConnection = (a: AccessLogEntry) => (a.cx !== undefined ? `cx ${a.cx}` : a.ds_remote);

/** The shared facts scenarios declare. */
export const facts = {
  /** Every matching entry came on one downstream connection (a kept-alive client connection, pinned). */
  oneDownstreamConnection: (): SignatureFact => ({
    says: 'all on one downstream connection',
    holds: (m) => {
      const cxs = [...new Set(m.map(downstreamConnection))];
      return { holds: m.length >= 2 && cxs.length === 1 && cxs[0] !== undefined, evidence: cxs.length === 1 ? `all on downstream connection ${cxs[0]}` : `${cxs.length} downstream connections` };
    },
  }),
  /** The upstream host never changes across the matching entries (pinned to one address). */
  upstreamHostStays: (): SignatureFact => ({
    says: 'the upstream host stays the same',
    holds: (m) => {
      const hosts = [...new Set(m.map((a) => a.up_host))];
      return { holds: m.length >= 2 && hosts.length === 1 && hosts[0] !== undefined, evidence: hosts.length === 1 ? `upstream host stays ${hosts[0] ?? '(none)'}` : `upstream hosts ${hosts.join(', ')}` };
    },
  }),
  /** Calls to the same cluster also succeed: the failure is in some calls, not the route. */
  othersToTheClusterSucceed: (): SignatureFact => ({
    says: 'other calls to the same cluster succeed',
    holds: (m, all) => {
      const clusters = new Set(m.map((a) => a.up_cluster));
      const ok = all.filter((a) => clusters.has(a.up_cluster) && a.code !== undefined && a.code < 400 && !a.flags);
      return { holds: ok.length >= 1, evidence: `${ok.length} successful call(s) to ${[...clusters].join(', ')}` };
    },
  }),
  /** An entry's upstream connection carried an earlier successful request: the failure came on a reused connection. */
  onAReusedUpstreamConnection: (): SignatureFact => ({
    says: 'each on an upstream connection that had served before (reused)',
    holds: (m, all) => {
      const conn = (a: AccessLogEntry) => (a.up_cx !== undefined ? `up_cx ${a.up_cx}` : a.up_local);
      const t = (a: AccessLogEntry) => Date.parse(a.ts);
      const reused = m.filter((f) => conn(f) !== undefined && all.some((a) => a !== f && conn(a) === conn(f) && t(a) <= t(f) && a.code !== undefined && a.code < 400));
      return { holds: reused.length === m.length, evidence: `${reused.length} of ${m.length} on an upstream connection that had served before` };
    },
  }),
  /** Connections for one address delivered to another host: the original destination is not the upstream host (a catch-all chain). */
  deliveredToAnotherHost: (): SignatureFact => ({
    says: 'connections dialled to one address were delivered to another host',
    holds: (m) => {
      const ip = (addr?: string) => addr?.replace(/:\d+$/, '');
      const moved = m.filter((a) => a.ds_local !== undefined && a.up_host !== undefined && ip(a.ds_local) !== ip(a.up_host));
      return { holds: moved.length >= 1, evidence: moved.length ? `${moved.length} connection(s), e.g. dialled ${moved[0]!.ds_local}${moved[0]!.sni ? ` (SNI ${moved[0]!.sni})` : ''}, delivered to ${moved[0]!.up_host} by ${moved[0]!.up_cluster}` : 'every connection went to the address it dialled' };
    },
  }),
  /** Once failing, the route never works again in the log: a permanent state, not a window. */
  noSuccessAfterTheFirstFailure: (): SignatureFact => ({
    says: 'no success after the first failure (permanent, not a window)',
    holds: (m, all) => {
      const first = Math.min(...m.map((a) => Date.parse(a.ts)));
      const after = all.filter((a) => Date.parse(a.ts) > first && a.code !== undefined && a.code < 400 && !a.flags).length;
      return { holds: after === 0, evidence: `${after} success(es) after the first failure` };
    },
  }),
  /** No call to that cluster succeeds: the whole route is broken. */
  noCallToTheClusterSucceeds: (): SignatureFact => ({
    says: 'no call to that cluster succeeds',
    holds: (m, all) => {
      const clusters = new Set(m.map((a) => a.up_cluster));
      const ok = all.filter((a) => clusters.has(a.up_cluster) && a.code !== undefined && a.code < 400 && !a.flags);
      return { holds: ok.length === 0, evidence: ok.length ? `${ok.length} successful call(s) to the same cluster` : 'no successful call to it' };
    },
  }),
  /** The failures come as a window: successes before and after them on the same route (a push in progress). */
  failuresBetweenSuccesses: (): SignatureFact => ({
    says: 'successes before and after the failures (a window, not a permanent state)',
    holds: (m, all) => {
      const t = (a: AccessLogEntry) => Date.parse(a.ts);
      const first = Math.min(...m.map(t));
      const last = Math.max(...m.map(t));
      const ok = (a: AccessLogEntry) => a.code !== undefined && a.code < 400 && !a.flags;
      const before = all.filter((a) => ok(a) && t(a) < first).length;
      const after = all.filter((a) => ok(a) && t(a) > last).length;
      return { holds: before >= 1 && after >= 1, evidence: `${before} success(es) before the first failure, ${after} after the last` };
    },
  }),
};
