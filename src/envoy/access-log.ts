/**
 * The JSON access log the lab puts on every HCM and tcp_proxy, and its parser. One line per HTTP
 * request or TCP connection: the evidence of what Envoy itself decided (flags, details, which
 * connection, which upstream host).
 */
import { readFile } from 'node:fs/promises';
import { compareVersions } from './version.js';

export const ACCESS_LOG_FORMAT: Record<string, string> = {
  ts: '%START_TIME%',
  chain: '%FILTER_CHAIN_NAME%',
  cx: '%CONNECTION_ID%', // constant across requests = same downstream connection
  up_cx: '%UPSTREAM_CONNECTION_ID%',
  method: '%REQ(:METHOD)%',
  authority: '%REQ(:AUTHORITY)%',
  code: '%RESPONSE_CODE%',
  flags: '%RESPONSE_FLAGS%',
  details: '%RESPONSE_CODE_DETAILS%',
  cx_term: '%CONNECTION_TERMINATION_DETAILS%',
  ds_local: '%DOWNSTREAM_LOCAL_ADDRESS%', // the original destination, after SO_ORIGINAL_DST
  ds_remote: '%DOWNSTREAM_REMOTE_ADDRESS%',
  up_host: '%UPSTREAM_HOST%',
  up_cluster: '%UPSTREAM_CLUSTER%',
  up_local: '%UPSTREAM_LOCAL_ADDRESS%',
  up_fail: '%UPSTREAM_TRANSPORT_FAILURE_REASON%',
  attempts: '%UPSTREAM_REQUEST_ATTEMPT_COUNT%',
  sni: '%REQUESTED_SERVER_NAME%',
  duration_ms: '%DURATION%',
  // start to the request's last byte in: what DURATION counts before Envoy had the whole request
  rq_ms: '%REQUEST_DURATION%',
  // mTLS: who the peer proved to be (its certificate's URI SAN, a SPIFFE id), each side.
  ds_peer: '%DOWNSTREAM_PEER_URI_SAN%',
  up_peer: '%UPSTREAM_PEER_URI_SAN%',
  ds_tls: '%DOWNSTREAM_TLS_VERSION%',
  // what Envoy passed on: the response body's bytes, and the gRPC status trailer it got from upstream
  bytes_sent: '%BYTES_SENT%',
  grpc_trailer: '%TRAILER(grpc-status)%',
};

/** Operators newer than the oldest Envoy the lab supports, with the version that added them (measured). */
const FIELDS_SINCE: Array<{ field: string; operator: string; since: string }> = [
  // why Envoy closed the app's connection, e.g. tcp_session_idle_timeout; 1.36 and 1.37 reject it
  { field: 'ds_close', operator: '%DOWNSTREAM_LOCAL_CLOSE_REASON%', since: '1.38.0' },
];

/** The log format for an Envoy version: every field that version understands. */
export function accessLogFormat(envoyVersion: string): Record<string, string> {
  const extra = FIELDS_SINCE.filter((f) => compareVersions(envoyVersion, f.since) >= 0).map((f) => [f.field, f.operator]);
  return { ...ACCESS_LOG_FORMAT, ...Object.fromEntries(extra) };
}

/** One access-log entry. Envoy writes "-"/null for absent values; the parser turns those into undefined. */
export interface AccessLogEntry {
  ts: string;
  /** HTTP request (HCM) or TCP connection (tcp_proxy). */
  kind: 'http' | 'tcp';
  chain?: string;
  cx?: number;
  up_cx?: number;
  method?: string;
  authority?: string;
  code?: number;
  flags?: string;
  details?: string;
  cx_term?: string;
  ds_local?: string;
  ds_remote?: string;
  ds_close?: string;
  up_host?: string;
  up_cluster?: string;
  up_local?: string;
  up_fail?: string;
  attempts?: number;
  sni?: string;
  duration_ms?: number;
  rq_ms?: number;
  ds_peer?: string;
  up_peer?: string;
  ds_tls?: string;
  bytes_sent?: number;
  /** The grpc-status trailer of the upstream's response, as Envoy received it. */
  grpc_trailer?: string;
}

export function accessLogConfig(path: string, kind: 'http' | 'tcp', envoyVersion: string) {
  return [
    {
      name: 'envoy.access_loggers.file',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog',
        path,
        log_format: { json_format: { kind, ...accessLogFormat(envoyVersion) } },
      },
    },
  ];
}

const NUMERIC = new Set(['cx', 'up_cx', 'code', 'attempts', 'duration_ms', 'rq_ms', 'bytes_sent']);

export function parseAccessLog(text: string): AccessLogEntry[] {
  const entries: AccessLogEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let raw: Record<string, unknown>;
    try {
      raw = JSON.parse(line);
    } catch {
      continue; // a torn last line while Envoy is still writing
    }
    const entry: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(raw)) {
      if (v === null || v === '-' || v === '') continue;
      // %UPSTREAM_CLUSTER% is the cluster's alt_stat_name when it has one: Istio's adds ";" (see admin.ts).
      entry[k] = NUMERIC.has(k) ? Number(v) : k === 'up_cluster' && typeof v === 'string' ? v.replace(/;$/, '') : v;
    }
    entries.push(entry as unknown as AccessLogEntry);
  }
  return entries;
}

/**
 * Envoy's own time on an HTTP request: from the request's last byte in to the response's last byte
 * out (DURATION - REQUEST_DURATION). DURATION alone can count time before Envoy had the request:
 * on a loaded machine an overflow 503, sent in the millisecond Envoy decoded its headers, logged
 * DURATION 112 ms; its connection had been accepted 113 ms before those headers were decoded.
 */
export function envoyOwnMs(a: AccessLogEntry): number | undefined {
  return a.duration_ms === undefined ? undefined : a.duration_ms - (a.rq_ms ?? 0);
}

/** The parsed log; null when the file does not exist (missing evidence, not "no traffic"). */
export async function readAccessLog(path: string): Promise<AccessLogEntry[] | null> {
  const text = await readFile(path, 'utf8').catch(() => null);
  return text === null ? null : parseAccessLog(text);
}
