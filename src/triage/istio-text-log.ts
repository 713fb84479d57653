/**
 * Istio's text access-log line, read into the lab's entry shape. The format is fixed text
 * (pilot/pkg/model/telemetry_logging.go, EnvoyTextLogFormat, Istio ≥ 1.9):
 *
 *   [%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE%
 *   %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS%
 *   "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION%
 *   %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%"
 *   "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW%
 *   %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS%
 *   %REQUESTED_SERVER_NAME% %ROUTE_NAME%
 *
 * Also read: the older formats (before 1.9 there are no details: a quoted mixer status and/or the
 * quoted transport failure reason follow the flags), and lines without the request id (the run of
 * quoted fields is then one shorter). A small grammar, not a regular expression: bracketed time,
 * quoted strings (a user agent has spaces), bare words (an IPv6 address is a bare [..]:port).
 */
import type { AccessLogEntry } from '../envoy/access-log.js';

type Token = { quoted: boolean; text: string };

/** Splits a line into the time in brackets, quoted strings and bare words. */
export function tokens(line: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < line.length) {
    if (line[i] === ' ' || line[i] === '\t') {
      i++;
      continue;
    }
    if (line[i] === '"') {
      const end = line.indexOf('"', i + 1);
      if (end < 0) throw new Error(`an unclosed quote at column ${i + 1}`);
      out.push({ quoted: true, text: line.slice(i + 1, end) });
      i = end + 1;
      continue;
    }
    if (line[i] === '[' && out.length === 0) {
      const end = line.indexOf(']', i);
      if (end < 0) throw new Error('an unclosed [ around the start time');
      out.push({ quoted: true, text: line.slice(i + 1, end) });
      i = end + 1;
      continue;
    }
    let end = i;
    while (end < line.length && line[end] !== ' ' && line[end] !== '\t') end++;
    out.push({ quoted: false, text: line.slice(i, end) });
    i = end;
  }
  return out;
}

const value = (s: string | undefined) => (s === undefined || s === '-' || s === '' ? undefined : s);
const number = (s: string | undefined) => (value(s) === undefined || Number.isNaN(Number(s)) ? undefined : Number(s));

/** One line of Istio's text format, or an error saying what in it is not that format. */
export function parseIstioTextLine(line: string): AccessLogEntry {
  const t = tokens(line.trim());
  if (!line.trim().startsWith('[') || t.length < 12) throw new Error(`${t.length} fields, not Istio's text format (it starts with [START_TIME] and has 20-22 fields)`);
  const [start, request, code, flags] = t;
  const [method, , protocol] = request!.text.split(' ');
  let k = 4;
  let details: string | undefined;
  let cxTerm: string | undefined;
  // Istio ≥ 1.9: two bare words (details, termination details) before the quoted failure reason.
  if (!t[k]!.quoted && !/^\d+$/.test(t[k]!.text)) {
    details = value(t[k++]!.text);
    cxTerm = value(t[k++]!.text);
  }
  // The quoted fields before the byte counts: the transport failure reason, after a mixer status in the oldest formats.
  const beforeBytes: string[] = [];
  while (k < t.length && t[k]!.quoted) beforeBytes.push(t[k++]!.text);
  const upFail = value(beforeBytes[beforeBytes.length - 1]);
  k += 2; // bytes received, bytes sent
  const duration = number(t[k++]?.text);
  k++; // x-envoy-upstream-service-time
  const quoted: string[] = [];
  while (k < t.length && t[k]!.quoted) quoted.push(t[k++]!.text);
  if (quoted.length < 4) throw new Error(`${quoted.length} quoted fields after the duration, expected 4 or 5 (X-Forwarded-For, User-Agent, [X-Request-Id,] authority, upstream host)`);
  const [cluster, upLocal, dsLocal, dsRemote, sni] = t.slice(k).map((x) => x.text);
  const isTcp = method === '-' && protocol === '-';
  const entry: AccessLogEntry = {
    ts: start!.text,
    kind: isTcp ? 'tcp' : 'http',
    method: isTcp ? undefined : value(method),
    code: number(code!.text),
    flags: value(flags!.text),
    details,
    cx_term: cxTerm,
    up_fail: upFail,
    duration_ms: duration,
    authority: value(quoted[quoted.length - 2]),
    up_host: value(quoted[quoted.length - 1]),
    up_cluster: value(cluster)?.replace(/;$/, ''),
    up_local: value(upLocal),
    ds_local: value(dsLocal),
    ds_remote: value(dsRemote),
    sni: value(sni),
  };
  return Object.fromEntries(Object.entries(entry).filter(([, v]) => v !== undefined)) as unknown as AccessLogEntry;
}

/**
 * An entry written as Istio's text format (what `kubectl logs <pod> -c istio-proxy` shows), for
 * the README's example and the tests that read a lab run as a user's log. What the lab's log does
 * not record (bytes, user agent, request id, path, protocol) is given as "-" or a stand-in.
 */
export function toIstioTextLine(a: AccessLogEntry, o: { requestId?: string } = {}): string {
  const d = (v: unknown) => (v === undefined || v === null || v === '' ? '-' : String(v));
  const request = a.kind === 'tcp' ? '- - -' : `${d(a.method)} / HTTP/1.1`;
  const fields = [
    `[${a.ts}]`,
    `"${request}"`,
    String(a.code ?? 0),
    d(a.flags),
    d(a.details),
    d(a.cx_term),
    `"${d(a.up_fail)}"`,
    '0',
    '0',
    d(a.duration_ms),
    '-',
    '"-"',
    a.kind === 'tcp' ? '"-"' : '"lab-client/1.0 (envoy-fault-lab)"',
    `"${o.requestId ?? '-'}"`,
    `"${d(a.authority)}"`,
    `"${d(a.up_host)}"`,
    d(a.up_cluster),
    d(a.up_local),
    d(a.ds_local),
    d(a.ds_remote),
    d(a.sni),
    a.kind === 'tcp' ? '-' : 'default',
  ];
  return fields.join(' ');
}
