/**
 * A lab entry written as Istio's text access-log line (pilot/pkg/model/telemetry_logging.go,
 * EnvoyTextLogFormat, Istio ≥ 1.9), for the tests that read a lab run as
 * a user's log (read/access-log-line.ts reads it back).
 */
import type { AccessLogEntry } from '../envoy/access-log.js';

/**
 * An entry written as Istio's text format (what `kubectl logs <pod> -c istio-proxy` shows), for
 * the tests that read a lab run as a user's log. What the lab's log does
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
