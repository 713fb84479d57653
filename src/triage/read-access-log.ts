/**
 * A pod's access log as the user has it, in any of the forms triage reads, turned into the lab's
 * entry shape (src/envoy/access-log.ts): Istio's text format (istio-text-log.ts), Istio's JSON
 * encoding (`accessLogEncoding: JSON`: start_time, response_code, response_flags, …), or a lab
 * run's own access.jsonl. The form is told from the first line that is not blank. Kubernetes log
 * prefixes (`kubectl logs --timestamps`: an RFC 3339 time before the line) are taken off.
 */
import { parseAccessLog, type AccessLogEntry } from '../envoy/access-log.js';
import { UsageError } from '../errors.js';
import { parseIstioTextLine } from './istio-text-log.js';

export type LogFormat = 'istio-text' | 'istio-json' | 'lab-json';

export interface ReadLog {
  format: LogFormat;
  entries: AccessLogEntry[];
  /** Lines that were not access-log entries (Envoy's own messages mixed in by kubectl logs), with why. */
  skipped: Array<{ line: number; why: string }>;
}

const KUBECTL_TIME = /^\d{4}-\d\d-\d\dT[\d:.]+Z?\s+(?=[[{])/;

/** Istio's JSON keys → the lab's. */
const ISTIO_JSON: Record<string, keyof AccessLogEntry> = {
  start_time: 'ts',
  method: 'method',
  authority: 'authority',
  response_code: 'code',
  response_flags: 'flags',
  response_code_details: 'details',
  connection_termination_details: 'cx_term',
  upstream_transport_failure_reason: 'up_fail',
  duration: 'duration_ms',
  upstream_host: 'up_host',
  upstream_cluster: 'up_cluster',
  upstream_local_address: 'up_local',
  downstream_local_address: 'ds_local',
  downstream_remote_address: 'ds_remote',
  requested_server_name: 'sni',
};
const NUMERIC = new Set<keyof AccessLogEntry>(['code', 'duration_ms']);

function fromIstioJson(raw: Record<string, unknown>): AccessLogEntry {
  const e: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    const key = ISTIO_JSON[k];
    if (!key || v === null || v === '-' || v === '') continue;
    e[key] = NUMERIC.has(key) ? Number(v) : key === 'up_cluster' ? String(v).replace(/;$/, '') : v;
  }
  e.kind = raw.protocol === undefined || raw.protocol === null || raw.protocol === '-' ? (raw.method && raw.method !== '-' ? 'http' : 'tcp') : 'http';
  return e as unknown as AccessLogEntry;
}

/** The access log in `text`; `source` names it in errors. Bad input is one UsageError with the fix. */
export function readAccessLogText(text: string, source: string): ReadLog {
  const lines = text.split('\n').map((l) => l.replace(KUBECTL_TIME, '').trimEnd());
  const first = lines.find((l) => l.trim());
  if (first === undefined) throw new UsageError(`${source} is empty: no access-log lines to read`, { fix: 'give the sidecar\'s access log: kubectl logs <pod> -c istio-proxy > access.log' });
  const format = formatOf(first, source, text);
  if (format === 'lab-json') return { format, entries: parseAccessLog(lines.join('\n')), skipped: [] };
  const entries: AccessLogEntry[] = [];
  const skipped: ReadLog['skipped'] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    try {
      if (format === 'istio-json') {
        if (!line.trim().startsWith('{')) throw new Error('not a JSON object');
        entries.push(fromIstioJson(JSON.parse(line)));
      } else entries.push(parseIstioTextLine(line));
    } catch (err) {
      skipped.push({ line: i + 1, why: (err as Error).message });
    }
  });
  if (!entries.length) {
    throw new UsageError(`${source}: none of its ${skipped.length} line(s) is an access-log entry in ${format === 'istio-json' ? "Istio's JSON encoding" : "Istio's text format"} (line ${skipped[0]?.line}: ${skipped[0]?.why})`, {
      fix: 'give the istio-proxy container\'s log with access logging on (meshConfig.accessLogFile: /dev/stdout), or a lab run\'s envoy/access.jsonl',
    });
  }
  return { format, entries, skipped };
}

function formatOf(first: string, source: string, text: string): LogFormat {
  const line = first.trim();
  if (line.startsWith('[')) return 'istio-text';
  if (line.startsWith('{')) {
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line);
    } catch {
      if (/"configs"\s*:/.test(text.slice(0, 2000))) throw configDump(source);
      throw new UsageError(`${source}: its first line starts like JSON but is not one JSON object per line`, { fix: 'an access log in JSON has one object per line (accessLogEncoding: JSON); a config_dump goes to --config-dump' });
    }
    if ('configs' in o) throw configDump(source);
    if ('kind' in o && ('up_cluster' in o || 'code' in o)) return 'lab-json';
    if ('response_code' in o || 'response_flags' in o) return 'istio-json';
    throw new UsageError(`${source}: a JSON line with none of the access-log keys (response_code, response_flags)`, { fix: 'give an access log: Istio\'s text or JSON encoding, or a lab run\'s envoy/access.jsonl' });
  }
  throw new UsageError(`${source}: an unknown format (the first line starts "${line.slice(0, 40)}")`, {
    fix: "triage reads Istio's text access log (lines start with [START_TIME]), Istio's JSON encoding, and a lab run's envoy/access.jsonl",
  });
}

const configDump = (source: string) => new UsageError(`${source} is a config_dump, not an access log`, { fix: `pass it as --config-dump ${source}, and the access log as the first argument` });
