/**
 * An access-log entry written as named fields rather than Istio's positional text: Istio's JSON
 * encoding (one object per line, pretty-printed over many lines, wrapped by a terminal, cut at
 * either end, or a single `"key":value` quoted in prose), a log tool's expanded view (`key: value`
 * lines, Splunk's `{ [-]`), `key=value` pairs, a Markdown table of counts, and the lab's own
 * access.jsonl. Fields are known by their names (Istio's, Envoy's operator names, the lab's), so
 * the order and the extra keys a team adds do not matter.
 */
import type { SeenEntry } from '../clue.js';

type Field = 'ts' | 'method' | 'protocol' | 'authority' | 'code' | 'flags' | 'details' | 'cx_term' | 'up_fail' | 'duration_ms' | 'up_host' | 'up_cluster' | 'up_local' | 'ds_local' | 'ds_remote' | 'sni' | 'count';

/** Field names people's formats use → the lab's entry field. */
const NAMES: Record<string, Field> = {
  start_time: 'ts',
  timestamp: 'ts',
  method: 'method',
  protocol: 'protocol',
  authority: 'authority',
  response_code: 'code',
  status: 'code',
  status_code: 'code',
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
  'number of requests': 'count',
  count: 'count',
  requests: 'count',
};
/** Names that say "access log" on their own: one of them makes a fragment an entry. */
const STRONG = new Set(['response_code', 'response_flags', 'response_code_details', 'upstream_cluster', 'upstream_transport_failure_reason']);

const norm = (k: string) => {
  const s = k.trim().toLowerCase().replace(/^%|%$/g, '');
  return s.includes(' ') ? s : s.replace(/-/g, '_');
};

/** An entry from named values, when the names say it is one (a strong name, or three known ones). */
export function entryOfFields(raw: Record<string, unknown>): SeenEntry | undefined {
  const known = Object.keys(raw).filter((k) => NAMES[norm(k)] !== undefined);
  if (!known.some((k) => STRONG.has(norm(k))) && known.length < 3) return undefined;
  const e: Record<string, unknown> = { known: [...new Set(known.map((k) => NAMES[norm(k)]!))] };
  for (const k of known) {
    const field = NAMES[norm(k)]!;
    const v = raw[k];
    if (v === null || v === undefined || v === '-' || v === '' || v === 'null' || v === 'nil') continue;
    if (field === 'code' || field === 'duration_ms' || field === 'count') {
      if (/^-?\d+$/.test(String(v).trim())) e[field] = Number(v);
    } else e[field] = String(v).trim().replace(/;$/, '');
  }
  // TCP entries have no method and no protocol (or "-"); HTTP ones have one of them.
  const http = raw[known.find((k) => norm(k) === 'method') ?? ''] ?? raw[known.find((k) => norm(k) === 'protocol') ?? ''];
  if (http !== undefined) e.kind = http === '-' || http === null ? 'tcp' : 'http';
  else if (typeof e.code === 'number' && e.code !== 0) e.kind = 'http';
  if (e.kind) (e.known as string[]).push('kind');
  e.whole = typeof e.ts === 'string' && known.length >= 8;
  return e as SeenEntry;
}

/** The lab's own access.jsonl line (keys of ACCESS_LOG_FORMAT). */
export const isLabEntry = (o: Record<string, unknown>) => (o.kind === 'http' || o.kind === 'tcp') && ('code' in o || 'up_cluster' in o) && 'ts' in o;

/** `"key":value` pairs anywhere in a text: a JSON object, a broken one, or a fragment in prose. */
export function pairsInText(text: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const m of text.matchAll(/"([\w.@-]+)"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|null|true|false)/g)) {
    const v = m[2]!;
    out[m[1]!] = v.startsWith('"') ? v.slice(1, -1).replace(/\\"/g, '"') : v === 'null' ? null : Number.isNaN(Number(v)) ? v : Number(v);
  }
  // A partial object cut before its first key's opening quote: `bytes_received":112361,…`
  const head = /^\s*([\w.-]+)"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+)/.exec(text);
  if (head && !(head[1]! in out)) out[head[1]!] = head[2]!.startsWith('"') ? head[2]!.slice(1, -1) : Number(head[2]);
  return out;
}

/** `key: value` (a log tool's expanded view) or `key=value` pairs on one line; undefined if neither. */
export function pairOfLine(line: string): [string, string] | undefined {
  const colon = /^\s*([a-z][\w.-]*):\s+(.*?)\s*$/i.exec(line);
  if (colon) return [colon[1]!, colon[2]!];
  return undefined;
}

export function keyValuePairs(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of line.matchAll(/(?:^|\s)([a-z][\w.-]*)=("[^"]*"|\S+)/gi)) out[m[1]!] = m[2]!.replace(/^"|"$/g, '');
  return out;
}

/** A Markdown table's rows as records, if `lines` start with a header row naming access-log fields. */
export function tableRows(lines: string[]): { rows: Array<Record<string, string>>; used: number } | undefined {
  const cells = (l: string) => l.trim().replace(/^\||\|$/g, '').split('|').map((c) => c.trim());
  if (!lines[0]?.includes('|')) return undefined;
  const header = cells(lines[0]);
  if (header.filter((h) => NAMES[norm(h)] !== undefined).length < 2) return undefined;
  const rows: Array<Record<string, string>> = [];
  let i = 1;
  for (; i < lines.length && lines[i]!.includes('|'); i++) {
    const c = cells(lines[i]!);
    if (c.every((x) => /^:?-+:?$/.test(x) || x === '')) continue;
    rows.push(Object.fromEntries(header.map((h, j) => [h, c[j] ?? ''])));
  }
  return { rows, used: i };
}
