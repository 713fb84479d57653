/**
 * What triage reads out of a paste: clues. A clue is one thing some evidence says, in the lab's
 * terms, with where it came from: a response or connection Envoy handled (an access-log entry, or
 * the part of one a local-reply body, a curl status or a debug line gives), or a mark (a named
 * mechanism or symptom: connections refused, a certificate for another name, filter chains
 * draining, pilot-agent terminating). Signatures (signature.ts) are written in the same terms, so
 * any kind of evidence can be held against any incident.
 */
import type { AccessLogEntry } from '../envoy/access-log.js';
import type { SocketRow } from './shapes.js';

/**
 * Where a clue came from. Kinds are independent witnesses: two kinds agreeing is stronger than
 * two lines of one kind.
 */
export const EVIDENCE_KINDS = {
  'access-log': 'access-log entries',
  client: "the caller's view (its error, curl output, Envoy's reply body)",
  'app-log': "the app's own log",
  'envoy-log': "Envoy's debug/trace lines",
  'istio-agent': 'pilot-agent / istio-proxy lines',
  'k8s-event': 'Kubernetes events',
  stats: 'counters (/stats)',
  clusters: 'the cluster table (/clusters)',
  sockets: 'a socket table (ss / netstat)',
  'heap-profile': 'a heap profile (pprof)',
  'config-dump': 'the config_dump',
} as const;
export type EvidenceKind = keyof typeof EVIDENCE_KINDS;

/**
 * Named mechanisms and symptoms, each read from one or more shapes of evidence. A signature lists
 * the marks its incident leaves; the scenario suite checks each against the before's own run.
 */
export const MARKS = {
  refused: 'connections refused (connect: connection refused, ECONNREFUSED, errno 111)',
  reset: 'connections reset by the peer (ECONNRESET, connection reset by peer)',
  closedUnderIt: 'an open connection closed under the client (EOF, socket hang up, unexpected end of stream, broken pipe)',
  poolConnectionClosed: "a database or cache client's pooled connection found closed (invalid connection, connection lost, Connection is closed)",
  websocketClosed: 'a WebSocket closed without a close frame (1006)',
  certForAnotherName: 'the server presented a certificate for another name than the one dialled',
  tlsMetPlaintext: 'TLS met a peer that does not speak it (WRONG_VERSION_NUMBER, packet length too long, SSL connection error)',
  websocketRefused: 'a WebSocket handshake answered with an HTTP error (bad handshake, Unexpected server response)',
  callerIsLoopback: 'the app saw its callers as 127.0.0.6 or 127.0.0.1',
  headersLowercased: 'header names arrive in lower case',
  contentTypeJoined: 'one Content-Type header with two values joined by a comma',
  atStartUp: 'it happened as the app started (a panic in main, CrashLoopBackOff, a start-up step)',
  sidecarTerminating: 'pilot-agent drained and stopped Envoy (Graceful termination period, Aborting epoch)',
  sidecarNotReady: 'Envoy was not ready yet (Envoy proxy is NOT ready, pilot-agent wait, FailedPostStartHook)',
  filterChainsDraining: "Envoy drained a listener's filter chains (a config change)",
  upstreamGoaway: 'the upstream sent HTTP/2 GOAWAY',
  unknownCluster: "Envoy's router found no cluster of the route's name",
  noHealthyHost: 'Envoy found no healthy host in the cluster',
  poolOverflow: "the cluster's circuit breaker was full (overflow)",
  headerLimit: 'a header count or size limit was hit',
  upstreamProtocolError: "Envoy could not parse the upstream's response (a codec protocol error: a malformed or duplicate framing header, the wrong protocol)",
  responseTooLarge: 'a response body went over the buffer limit',
  outlierEjected: 'hosts ejected by outlier detection',
  originalDstHosts: 'memory held by ORIGINAL_DST hosts (PassthroughCluster)',
  routeTimeout: "the route's timeout ended the request",
} as const;
export type Mark = keyof typeof MARKS;

/** Part or all of an access-log entry, plus what a caller sees that the log does not carry. */
export type SeenEntry = Partial<AccessLogEntry> & {
  /** HTTP/1.0, HTTP/1.1, HTTP/2 of the request. */
  protocol?: string;
  /** The whole access-log line was read (its time and fields), so facts about the group may be judged. */
  whole?: boolean;
  /** A reset reply's body says whether Envoy retried first ("retried and the latest reset reason", Envoy ≥ 1.22). */
  retried?: boolean;
  /** duration_ms is the caller's clock (curl and the shell's time), not Envoy's DURATION. */
  durationByClient?: boolean;
  /** How many requests the line stands for (a table of counts); 1 if absent. */
  count?: number;
  /**
   * The fields its source carried, set or "-": a field not in it is unknown, not absent. Undefined
   * for a whole line of the lab's own log, which carries every field.
   */
  known?: string[];
};

export interface Clue {
  kind: EvidenceKind;
  /** Input line numbers it came from. */
  lines: number[];
  /** The reading rule that took it (--explain). */
  rule: string;
  /** What it says, in a few words, for the summary and the answer. */
  says: string;
  entry?: SeenEntry;
  mark?: Mark;
  counters?: Map<string, number>;
  sockets?: SocketRow[];
}

/** The clues a paste gave, and what of it was not understood. */
export interface ReadPaste {
  clues: Clue[];
  /** Lines no rule took (blank lines left out), with their number. */
  unread: Array<{ n: number; text: string }>;
  /** Which unwrapping rules touched which lines (paste.ts). */
  unwrapped: Array<{ n: number; rules: string[] }>;
  lineCount: number;
  /** The access-log entries are a whole log (a lab run's): what it does not show did not happen. A paste is an excerpt. */
  wholeLog?: boolean;
  /** All a run left is here (its app's errors, Envoy's log, counters): a mark it does not show did not happen. */
  wholeRun?: boolean;
}
