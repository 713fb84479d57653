/**
 * The readers for what is not an access-log entry: Envoy's, pilot-agent's and Kubernetes' lines,
 * HTTP responses as curl shows them, admin and machine tables, and last the caller's and the
 * app's own words on whatever no other reader took. read-paste.ts runs them in this order.
 */
import type { Clue, EvidenceKind, SeenEntry } from '../clue.js';
import { appLogMarks, CLIENT_RULES } from './client-error.js';
import { replyOfBody } from './envoy-replies.js';
import { AGENT_RULES, ENVOY_RULES, EVENT_RULES, isEventLine, logLine, type LogRule } from './envoy-log.js';
import { certificateNames, curlHost, nameCovers, readHttpResponse } from './http-response.js';
import type { Add, Free } from './read-paste.js';
import { clusterRow, heapFrameOfOriginalDst, socketRow, statOfLine } from './tables.js';

const applyRules = (rules: LogRule[], message: string) => rules.map((r) => ({ r, m: r.test.exec(message) })).filter((x): x is { r: LogRule; m: RegExpExecArray } => x.m !== null);

/** A line that goes on a log message: a header the codec printed, indented text, protobuf text, a lone brace. */
const isContinuation = (line: string) => /^\s*'[\w:-]+', '/.test(line) || /^\s+\S/.test(line) || /^[{}\]]\s*$/.test(line.trim()) || /^[a-z_]+ \{$|^[a-z_]+: \S/.test(line);

/** Envoy's and pilot-agent's log lines, and Kubernetes events. */
export function readLogLines(t: string[], free: Free, add: Add) {
  // The codec's trace of each header it parsed, per connection: a framing header twice is a malformed message.
  const parsed = new Map<string, string[]>();
  for (let i = 0; i < t.length; i++) {
    if (!free(i)) continue;
    const event = isEventLine(t[i]!);
    const log = event ? undefined : logLine(t[i]!);
    if (!log && !event) continue;
    const kind: EvidenceKind = event ? 'k8s-event' : log!.source === 'envoy' ? 'envoy-log' : 'istio-agent';
    const message = log?.message ?? t[i]!;
    const hits = applyRules(event ? EVENT_RULES : log!.source === 'envoy' ? ENVOY_RULES : [...AGENT_RULES, ...ENVOY_RULES], message);
    const header = /completed header: key=([\w-]+)/.exec(message);
    if (header) {
      const cx = /\[(C\d+)\]/.exec(t[i]!)?.[1] ?? '';
      const seen = parsed.get(cx) ?? [];
      const name = header[1]!.toLowerCase();
      if (seen.includes(name) && /^(?:transfer-encoding|content-length)$/.test(name)) {
        add([i], { kind, rule: 'a framing header parsed twice on one connection', says: `${header[1]} twice on ${cx || 'one connection'}`, mark: 'upstreamProtocolError' });
        continue;
      }
      parsed.set(cx, [...seen, name]);
    }
    const idx = [i];
    // The message's own lines below it: the codec's headers (':status', '503') or a config dump's protobuf text.
    let status: number | undefined;
    for (let j = i + 1; j < t.length && free(j) && !logLine(t[j]!) && isContinuation(t[j]!); j++) {
      idx.push(j);
      status ??= Number(/^\s*':status', '(\d{3})'/.exec(t[j]!)?.[1]) || undefined;
      if (/^\s*'[\w:-]+', '/.test(t[j]!)) for (const h of applyRules(ENVOY_RULES, t[j]!)) hits.push(h);
    }
    if (!hits.length) {
      add(idx, { kind, rule: `${kind === 'envoy-log' ? "Envoy's" : kind === 'k8s-event' ? 'a Kubernetes' : "pilot-agent's"} log line, no mark in it`, says: message.slice(0, 90) });
      continue;
    }
    for (const { r, m } of hits) {
      const entry = r.entry?.(m);
      add(idx, { kind, rule: r.name, says: message.slice(0, 120), mark: r.mark, entry: entry && Object.keys(entry).length ? { kind: 'http', ...entry, ...(status ? { code: status } : {}) } : undefined });
    }
  }
}

/** A shell prompt and the command the person ran (curl, kubectl, …): read, it says nothing itself. */
const SHELL_COMMAND = /(?:^|[#$%❯>]|\]#)\s*(?:curl|kubectl|k|docker|istioctl|mysql|grpcurl|wget|http)\s+\S/;

/** HTTP responses (curl -v / -i / -D -, a raw response), the host dialled, the certificate, the shell's time. */
export function readResponses(t: string[], free: Free, add: Add) {
  let host: string | undefined;
  let requestProtocol: string | undefined;
  let cert: { names: string[]; line: number } | undefined;
  let last: Clue | undefined;
  const note = (i: number) => add([i], { kind: 'client', rule: "curl's notes and request lines", says: '' });
  for (let i = 0; i < t.length; i++) {
    if (!free(i)) continue;
    const line = t[i]!.trim();
    host = curlHost(line) ?? host;
    requestProtocol = /^> [A-Z]+ \S+ (HTTP\/[\d.]+)/.exec(line)?.[1] ?? requestProtocol;
    const names = certificateNames(line);
    if (names) cert = { names, line: i };
    const time = /^real\s+(\d+)m([\d.,]+)s$/.exec(line);
    // The shell's `time` after a curl: how long the call took, as the access log's DURATION would say.
    if (time && last?.entry) {
      last.entry.duration_ms = Math.round((Number(time[1]) * 60 + Number(time[2]!.replace(',', '.'))) * 1000);
      last.entry.known = [...(last.entry.known ?? []), 'duration_ms'];
      last.entry.durationByClient = true;
      last.says += `, ${(last.entry.duration_ms / 1000).toFixed(1)} s by the shell's clock`;
      last.lines.push(i + 1);
    }
    const r = readHttpResponse(t, i, { host, requestProtocol });
    if (r) {
      const idx = r.used.filter((k) => free(k));
      for (const e of r.entries) last = add(idx, { kind: 'client', rule: 'an HTTP response (status line, headers, body)', says: r.says, entry: e });
      for (const m of r.marks) add(idx, { kind: 'client', rule: 'an HTTP response header', says: m.says, mark: m.mark });
      i = Math.max(i, ...r.used);
      continue;
    }
    if ((/^[*<>{}] |^\* |^real\s|^user\s|^sys\s/.test(line) || SHELL_COMMAND.test(line)) && !names) note(i);
  }
  if (host && cert && !cert.names.some((n) => nameCovers(n, host!))) {
    add([cert.line], { kind: 'client', rule: "curl's certificate subject against the host it dialled", says: `dialled ${host}, the certificate is for ${cert.names.join(', ')}`, mark: 'certForAnotherName' });
  }
}

/** /stats, /clusters, ss / netstat rows and a heap profile's frames. */
export function readAdminTables(t: string[], free: Free, add: Add) {
  const stats = new Map<string, number>();
  const statLines: number[] = [];
  const sockets: Array<ReturnType<typeof socketRow> & {}> = [];
  const socketLines: number[] = [];
  for (let i = 0; i < t.length; i++) {
    if (!free(i)) continue;
    const s = statOfLine(t[i]!);
    if (s) {
      stats.set(s[0], s[1]);
      statLines.push(i);
      continue;
    }
    const c = clusterRow(t[i]!);
    if (c) {
      if (c.field === 'health_flags' && /failed_outlier_check/.test(c.value)) add([i], { kind: 'clusters', rule: 'a /clusters row', says: `${c.cluster} ${c.host} ${c.value}`, mark: 'outlierEjected' });
      else add([i], { kind: 'clusters', rule: 'a /clusters row', says: `${c.cluster} ${c.host} ${c.field} ${c.value}` });
      continue;
    }
    const row = socketRow(t[i]!);
    if (row) {
      sockets.push(row);
      socketLines.push(i);
      continue;
    }
    if (/^\s*State\s+Recv-Q\s+Send-Q|^Proto Recv-Q Send-Q|^Active Internet connections/.test(t[i]!)) socketLines.push(i);
    if (heapFrameOfOriginalDst(t[i]!)) add([i], { kind: 'heap-profile', rule: "a heap profile's frame", says: t[i]!.trim(), mark: 'originalDstHosts' });
    else if (/^\s*(?:File: envoy|Type: inuse_space|Showing nodes accounting|Dropped \d+ nodes|flat\s+flat%)/.test(t[i]!) || /^\s*[\d.]+[kMG]?B\s+[\d.]+%\s+[\d.]+%/.test(t[i]!)) add([i], { kind: 'heap-profile', rule: "a heap profile's line", says: '' });
  }
  if (stats.size) {
    add(statLines, { kind: 'stats', rule: "/stats lines (Envoy's text or Prometheus)", says: `${stats.size} counter(s)`, counters: stats });
    for (const [name, v] of stats) if (/outlier_detection\.ejections_(?:active|total|enforced_total)$/.test(name) && v > 0) add([], { kind: 'stats', rule: 'an outlier-detection counter above 0', says: `${name} ${v}`, mark: 'outlierEjected' });
    for (const [name, v] of stats) if (/upstream_rq_pending_overflow$|upstream_cx_overflow$/.test(name) && v > 0) add([], { kind: 'stats', rule: 'a circuit-breaker overflow counter above 0', says: `${name} ${v}`, mark: 'poolOverflow' });
  }
  if (sockets.length) add(socketLines, { kind: 'sockets', rule: 'ss / netstat rows', says: `${sockets.length} connection(s)`, sockets });
}

/** What is left: the caller's errors and the app's own log lines, Envoy's reply text anywhere. */
export function readWords(t: string[], free: Free, add: Add) {
  for (let i = 0; i < t.length; i++) {
    if (!free(i)) continue;
    const line = t[i]!;
    const reply = replyOfBody(line);
    if (reply) add([i], { kind: 'client', rule: "Envoy's reply text", says: `"${line.trim().slice(0, 100)}"`, entry: { kind: 'http', ...reply } });
    for (const r of CLIENT_RULES) {
      const m = r.test.exec(line);
      if (!m) continue;
      const entry = r.entry?.(m);
      add([i], { kind: r.kind, rule: r.name, says: line.trim().slice(0, 100), mark: r.mark, entry: entry && Object.keys(entry).length ? entry : undefined });
    }
    for (const m of appLogMarks(line)) add([i], { kind: 'app-log', rule: "the app's log", says: m.says, mark: m.mark });
  }
}
