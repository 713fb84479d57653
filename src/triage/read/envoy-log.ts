/**
 * Envoy's own log lines, pilot-agent's, and Kubernetes events: the lines that say what Envoy did
 * and why, rather than what one request got. Envoy writes its log in two shapes, both read here:
 * its own `[time][thread][level][component] [file:line] [C1][S2] message`, and Istio's
 * `time<TAB>level<TAB>envoy component<TAB>[file:line<TAB>][Tags: …] message<TAB>thread=N` (tabs
 * often pasted as spaces). The message is then held against the rules below; each rule names the
 * mechanism its line marks, or the local reply it announces.
 */
import type { Mark, SeenEntry } from '../clue.js';
import { flagOfDetails, normalDetails, replyOfBody } from './envoy-replies.js';

/** Envoy's bracketed format, the Istio proxy format (tabs or runs of spaces), and pilot-agent's. */
const ENVOY_BRACKETED = /^\[[\d-]+[ T][\d:.]+\]\[\d+\]\[(\w+)\]\[([\w.]+)\]\s*(?:\[[^\]]+\]\s*)?(.*)$/;
const ISTIO_PROXY = /^\d{4}-\d\d-\d\dT[\d:.]+Z?\s+(trace|debug|info|warn(?:ing)?|error|critical)\s+envoy\s+([\w.]+)\s+(.*?)(?:\s+thread=\d+)?\s*$/;
const AGENT = /^\d{4}-\d\d-\d\dT[\d:.]+Z?\s+(debug|info|warn(?:ing)?|error|fatal)\s+(?!envoy\s)(.*?)\s*$/;

export interface LogLine {
  source: 'envoy' | 'agent';
  component?: string;
  message: string;
}

/** The message of an Envoy or pilot-agent log line, without time, level, file and connection tags. */
export function logLine(text: string): LogLine | undefined {
  const b = ENVOY_BRACKETED.exec(text.trim());
  if (b) return { source: 'envoy', component: b[2], message: stripTags(b[3]!) };
  const i = ISTIO_PROXY.exec(text.trim());
  if (i) return { source: 'envoy', component: i[2], message: stripTags(i[3]!) };
  const a = AGENT.exec(text.trim());
  if (a) return { source: 'agent', message: a[2]! };
  return undefined;
}

/** `external/envoy/source/…/file.cc:123`, `[Tags: "ConnectionId":"1"]`, `[C1][S2]` before a message. */
const stripTags = (m: string) =>
  m
    .replace(/^(?:external\/envoy\/)?source\/\S+?\.(?:cc|h):\d+\]?\s*/, '')
    .replace(/^\[(?:source|external)\/[^\]]+\]\s*/, '')
    .replace(/^\[Tags: [^\]]*\]\s*/, '')
    .replace(/^(?:\[C\d+\])?(?:\[S\d+\])?\s*/, '')
    .trim();

export interface LogRule {
  name: string;
  test: RegExp;
  mark?: Mark;
  /** The local reply or stream end the line announces. */
  entry?: (m: RegExpExecArray) => SeenEntry;
}

/** A flag the details fix on their own (a reset's may come with URX: those are left unknown). */
const fixedFlag = (d: string): SeenEntry => (/^upstream_reset|connection_termination|connection_failure/.test(normalDetails(d)) ? {} : { flags: flagOfDetails(d) });

export const ENVOY_RULES: LogRule[] = [
  { name: 'local reply', test: /(?:Sending|Preparing) local reply with details ([\w.]+\{[^}]*\}|\S+)/, entry: (m) => ({ details: normalDetails(m[1]!), ...fixedFlag(m[1]!) }) },
  { name: 'stream reset after headers', test: /Resetting stream due to (\w+)\. Prior headers have already been sent/, entry: (m) => ({ details: m[1], flags: flagOfDetails(m[1]!) }) },
  { name: 'route timeout', test: /upstream_response_timeout|upstream timeout/, mark: 'routeTimeout' },
  { name: 'unknown cluster', test: /unknown cluster '([^']*)'/, mark: 'unknownCluster' },
  { name: 'no healthy host', test: /no healthy host\b/, mark: 'noHealthyHost' },
  { name: 'filter-chain drain', test: /draining (?:\d+ )?filter chains?|filter_chain_is_being_removed|removing filter chains? /i, mark: 'filterChainsDraining' },
  { name: 'upstream GOAWAY', test: /remote goaway|recv(?:eived)? (?:frame type=7|GOAWAY)|\bGOAWAY\b/i, mark: 'upstreamGoaway' },
  { name: 'header limit', test: /headers? (?:count|size) exceeds limit|too many headers|headers too large|header_overflow/i, mark: 'headerLimit' },
  { name: "the upstream's response unparsable", test: /Error dispatching received data: .*protocol error|codec error.*upstream|Invalid HTTP header field was received|HPE_[A-Z_]+|upstream_reset_before_response_started\{protocol_error\}/i, mark: 'upstreamProtocolError' },
  { name: 'response over the buffer limit', test: /response data too large watermark exceeded|response_payload_too_large/, mark: 'responseTooLarge' },
  { name: 'circuit breaker overflow', test: /\boverflow\b|pending_overflow|max (?:pending )?requests? (?:reached|exceeded)/i, mark: 'poolOverflow' },
  // An attempt's reset, not the response: a retry may still have answered (the local reply line says what the caller got).
  { name: 'upstream reset of an attempt', test: /upstream reset: reset reason:\s*([a-z ]+?)(?:,|$)/ },
  { name: 'ext_authz denial', test: /ext_authz filter rejected the request/, entry: () => ({ details: 'ext_authz_denied', flags: 'UAEX' }) },
  { name: 'JWT rejection', test: /Jwt verification fail|JWT token verification completed with: (?!OK)/i, entry: () => ({ details: 'jwt_authn_access_denied' }) },
  { name: 'gRPC message of a local reply', test: /'grpc-message', '([^']*)'/, entry: (m) => replyOfBody(m[1]!) ?? {} },
];

/** pilot-agent and istio-proxy process lines, and Kubernetes events. */
export const AGENT_RULES: LogRule[] = [
  { name: 'pilot-agent terminating', test: /Graceful termination period is|Aborting epoch|Agent draining Proxy|pilot-agent is terminating|Agent has successfully terminated|Exiting on zero active connections|There are still \d+ active connections|Epoch \d+ exited|Envoy exited/i, mark: 'sidecarTerminating' },
  { name: 'Envoy not ready', test: /Envoy proxy is NOT ready|envoy proxy is not ready|FailedPostStartHook|pilot-agent wait|timeout waiting for Envoy proxy to become ready/i, mark: 'sidecarNotReady' },
];
export const EVENT_RULES: LogRule[] = [
  { name: 'a post-start hook failed', test: /FailedPostStartHook|PostStartHookError/, mark: 'sidecarNotReady' },
  { name: 'a container restarting', test: /CrashLoopBackOff|Back-off restarting failed container/, mark: 'atStartUp' },
];

/** A Kubernetes event line (kubectl describe's Events table or kubectl get events). */
export const isEventLine = (t: string) => /^\s*(?:Normal|Warning)\s+\w+\s+/.test(t) || /\b(?:FailedPostStartHook|BackOff|Unhealthy|Killing)\b.*\b(?:pod|container|kubelet)\b/i.test(t);
