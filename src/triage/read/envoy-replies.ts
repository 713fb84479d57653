/**
 * Envoy's local replies: the body text a caller receives when Envoy answers itself, and what that
 * reply is in the access log (code, flag, RESPONSE_CODE_DETAILS). A caller's error message, a
 * curl body or a gateway's wrapped error carries one of these, and a bare Content-Length can
 * stand for one when the body was not pasted (weakly: two replies may share a length).
 *
 * The texts are Envoy's own (source/common/router/router.cc, source/common/http/utility.cc,
 * the filters' local replies); the lab's runs show them as the app's error body. Older Envoy
 * wrote the upstream-reset body without a reason (57 bytes) and named some reasons differently
 * ("connection failure" before local/remote were told apart).
 */
import type { SeenEntry } from '../clue.js';

/** Envoy's reset reasons as the body writes them (spaces) → as details write them (underscores). */
export const detailsOfReason = (reason: string) => reason.trim().replace(/\s+/g, '_');

/** Local replies' details are written with spaces inside the braces in debug lines ({connection termination}). */
export const normalDetails = (d: string) => d.replace(/\{([^}]*)\}/, (_, inner: string) => `{${detailsOfReason(inner.replace(/,\s*/g, ','))}}`);
const FLAG_OF_DETAILS: Array<[RegExp, string]> = [
  [/cluster_not_found/, 'NC'],
  [/no_healthy_upstream/, 'UH'],
  [/route_not_found/, 'NR'],
  [/upstream_response_timeout/, 'UT'],
  [/stream_idle_timeout/, 'SI'],
  [/overflow/, 'UO'],
  [/connection_termination/, 'UC'],
  [/connection_failure|connection_timeout/, 'UF'],
  [/protocol_error/, 'UPE'],
  [/refused_stream|remote_reset/, 'UR'],
  [/local_rate_limited/, 'RL'],
  [/fault_filter_abort/, 'FI'],
  [/ext_authz/, 'UAEX'],
];
export const flagOfDetails = (d: string) => FLAG_OF_DETAILS.find(([r]) => r.test(normalDetails(d)))?.[1];

const UPSTREAM_RESET = /upstream connect error or disconnect\/reset before headers\.?(?:\s*(?:retried and the latest )?reset reason:\s*([a-z][a-z ]*[a-z]))?(?:,\s*transport failure reason:\s*([^"\n]*))?/i;

interface Reply {
  /** The body text (case-insensitive where Envoy's callers print it differently). */
  text: RegExp;
  entry: SeenEntry;
  /** Content-Length of the body as Envoy sends it; absent where it varies. */
  length?: number;
}

/** Fixed-text local replies. */
const REPLIES: Reply[] = [
  { text: /\bno healthy upstream\b/i, entry: { code: 503, flags: 'UH', details: 'no_healthy_upstream' }, length: 19 },
  { text: /\bupstream request timeout\b/i, entry: { code: 504, flags: 'UT', details: 'upstream_response_timeout' }, length: 24 },
  { text: /^\s*stream timeout\s*$|"stream timeout"|\bstream timeout\b(?! *[a-z])/i, entry: { flags: 'SI', details: 'stream_idle_timeout' }, length: 14 },
  { text: /\bRBAC: access denied\b/, entry: { code: 403, details: 'rbac_access_denied' }, length: 19 },
  { text: /\bfault filter abort\b/i, entry: { flags: 'FI', details: 'fault_filter_abort' }, length: 18 },
  { text: /\blocal_rate_limited\b/, entry: { code: 429, flags: 'RL', details: 'local_rate_limited' }, length: 18 },
  { text: /^\s*Upgrade Required\s*$/, entry: { code: 426, details: 'low_version' }, length: 16 },
  { text: /^\s*Payload Too Large\s*$/, entry: { code: 413, details: 'request_payload_too_large' }, length: 17 },
  { text: /^\s*Request Header Fields Too Large\s*$/, entry: { code: 431 }, length: 31 },
  { text: /^\s*Internal Server Error\s*$/, entry: { code: 500, details: 'response_payload_too_large' }, length: 21 },
  { text: /\bmaintenance mode\b/, entry: { code: 503, flags: 'UM', details: 'maintenance_mode' }, length: 16 },
];

/** The upstream-reset body's length for a reason (Envoy ≥ 1.14 adds ". reset reason: <reason>"). */
const resetBodyLength = (reason?: string) => 'upstream connect error or disconnect/reset before headers'.length + (reason ? '. reset reason: '.length + reason.length : 0);
const RESET_REASONS = ['connection failure', 'local connection failure', 'remote connection failure', 'connection timeout', 'connection termination', 'overflow', 'local reset', 'remote reset', 'remote refused stream reset', 'protocol error'];

/** What a body text says Envoy answered, if it is one of Envoy's local replies. */
export function replyOfBody(text: string): SeenEntry | undefined {
  const reset = UPSTREAM_RESET.exec(text);
  if (reset) {
    const reason = reset[1]?.toLowerCase();
    const details = reason ? `upstream_reset_before_response_started{${detailsOfReason(reason)}${reset[2] ? `,${detailsOfReason(reset[2])}` : ''}}` : undefined;
    // An overflow is a circuit breaker (UO); the others are resets or connect failures (UF/UC/UR/UPE).
    // No flags: the body does not say whether retries came first (UC or URX,UC): the details say the mechanism.
    // Envoy ≥ 1.22 says "retried and the latest reset reason" after retries: from then on, its absence means none.
    const retried = /retried and the latest/.test(reset[0]);
    return { details, ...(reason === 'protocol error' ? { code: 502 } : reason ? { code: 503 } : {}), up_fail: reset[2]?.trim() || undefined, ...(reason ? { retried } : {}) };
  }
  for (const r of REPLIES) if (r.text.test(text)) return { ...r.entry };
  return undefined;
}

/**
 * The local replies a status and a Content-Length (without the body) may stand for. An empty 503
 * is the router's cluster_not_found (it sends no body); an empty 404 its route_not_found.
 */
export function repliesOfLength(code: number, length: number): SeenEntry[] {
  if (length === 0 && code === 503) return [{ code, flags: 'NC', details: 'cluster_not_found' }];
  if (length === 0 && code === 404) return [{ code, flags: 'NR', details: 'route_not_found' }];
  // A reply whose status Envoy fixes beats one whose status the user sets (a fault abort's).
  const exact = REPLIES.filter((r) => r.length === length && r.entry.code === code);
  const fixed = (exact.length ? exact : REPLIES.filter((r) => r.length === length && r.entry.code === undefined)).map((r) => ({ ...r.entry, code }));
  if (code === 503 || code === 502) {
    // Old Envoy's reasonless body, or one reason whose body has this length.
    if (length === resetBodyLength()) fixed.push({ code, details: 'upstream_reset_before_response_started' });
    for (const reason of RESET_REASONS.filter((x) => resetBodyLength(x) === length)) fixed.push({ ...replyOfBody(`upstream connect error or disconnect/reset before headers. reset reason: ${reason}`)!, code });
  }
  return fixed;
}

/**
 * What Envoy's details say, for a reply no scenario of the lab reproduces: so "not one of the
 * lab's incidents" still tells the person what Envoy did.
 */
export const DETAILS_MEANING: Array<[RegExp, string]> = [
  [/^rbac_access_denied/, 'an RBAC filter (an Istio AuthorizationPolicy) denied the request'],
  [/^ext_authz|UAEX/, 'the external authorization service denied the request (or failed)'],
  [/^fault_filter_abort/, 'fault injection aborted the request (a VirtualService fault.abort)'],
  [/^fault_filter_delay/, 'fault injection delayed the request'],
  [/^route_not_found/, 'no route matched the request (Host or path), so Envoy answered 404 itself'],
  [/^filter_chain_not_found/, "no filter chain of the listener matched the connection (SNI, ALPN, TLS or not)"],
  [/^cluster_not_found/, "the route names a cluster Envoy does not have"],
  [/^jwt_authn|Jwt/, 'JWT authentication rejected the request'],
  [/^downstream_remote_disconnect|^0$/, 'the caller went away before the response'],
];
