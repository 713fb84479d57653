/**
 * One reader for a paste as people make it: mixed evidence, any order, noise between. The readers
 * take their lines in turn, the most structured first (JSON and tables, access-log lines, Envoy's
 * and pilot-agent's log, HTTP responses, admin tables), then the caller's and the app's own words
 * on what is left. Every clue keeps its line numbers and the rule that took it (`--explain`), and
 * what no rule took is reported as not understood: nothing is guessed silently.
 */
import type { Clue, EvidenceKind, ReadPaste, SeenEntry } from '../clue.js';
import { readAccessLine } from './access-log-line.js';
import { entryOfFields, isLabEntry, keyValuePairs, pairOfLine, pairsInText, tableRows } from './access-log-fields.js';
import { appLogMarks, CLIENT_RULES } from './client-error.js';
import { replyOfBody } from './envoy-replies.js';
import { AGENT_RULES, ENVOY_RULES, EVENT_RULES, isEventLine, logLine, type LogRule } from './envoy-log.js';
import { certificateNames, curlHost, nameCovers, readHttpResponse } from './http-response.js';
import { pasteLines } from './paste.js';
import { clusterRow, heapFrameOfOriginalDst, socketRow, statOfLine } from './tables.js';

/** The longest JSON object read across lines (a pretty-printed access-log entry has ~30). */
const MAX_OBJECT_LINES = 120;

export function readPaste(text: string): ReadPaste {
  const lines = pasteLines(text);
  const t = lines.map((l) => l.text);
  const used = new Set<number>();
  const clues: Clue[] = [];
  // Readers hand over fresh objects: they are completed in place (a big log has 100,000 of them).
  const add = (idx: number[], clue: Omit<Clue, 'lines'>): Clue => {
    for (const i of idx) used.add(i);
    // A reply, a status or a debug line carries only the fields it names: the rest are unknown.
    const e = clue.entry;
    if (e && e.known === undefined && clue.rule !== "the lab's access.jsonl") e.known = Object.keys(e).filter((k) => e[k as keyof SeenEntry] !== undefined);
    const stored = clue as Clue;
    stored.lines = idx.length === 1 ? [lines[idx[0]!]!.n] : [...new Set(idx.map((i) => lines[i]!.n))];
    clues.push(stored);
    return stored;
  };
  const free = (i: number) => !used.has(i) && t[i]!.trim() !== '';

  readObjects(t, free, add);
  readTables(t, free, add);
  readAccessLines(t, free, add);
  readLogLines(t, free, add);
  readResponses(t, free, add);
  readAdminTables(t, free, add);
  readWords(t, free, add);

  return {
    // In the paste's order, whichever reader took them.
    clues: clues.sort((a, b) => (a.lines[0] ?? Infinity) - (b.lines[0] ?? Infinity)),
    unread: lines.filter((l, i) => free(i) && !/^\s*(?:\.\.\.|…|<snip>|[-=*#>`|]+)\s*$/.test(l.text)).map((l) => ({ n: l.n, text: l.text })),
    unwrapped: lines.filter((l) => l.rules.length).map((l) => ({ n: l.n, rules: l.rules })),
    lineCount: lines.length ? lines[lines.length - 1]!.n : 0,
  };
}

type Add = (idx: number[], clue: Omit<Clue, 'lines'>) => Clue;
type Free = (i: number) => boolean;

const describe = (e: SeenEntry) =>
  [e.kind === 'tcp' ? 'TCP' : e.method, e.protocol, e.code, e.flags, e.details, e.up_fail ? `"${e.up_fail}"` : undefined, e.up_cluster ? `→ ${e.up_cluster}` : undefined].filter((x) => x !== undefined && x !== '').join(' ');

/** Whether braces balance in `s`, counting only those outside strings. */
function balanced(s: string): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}') depth--;
  }
  return depth <= 0;
}

/** JSON objects on one line or many (pretty-printed, wrapped by a terminal), broken ones, fragments, and a log tool's `{ [-]` view. */
function readObjects(t: string[], free: Free, add: Add) {
  for (let i = 0; i < t.length; i++) {
    if (!free(i)) continue;
    const line = t[i]!.trim();
    if (/^\{\s*\[-\]\s*$/.test(line)) {
      // Splunk's expanded event: key: value lines up to the closing brace.
      const idx = [i];
      const raw: Record<string, string> = {};
      for (let j = i + 1; j < t.length && j < i + MAX_OBJECT_LINES; j++) {
        idx.push(j);
        if (t[j]!.trim() === '}') break;
        const p = pairOfLine(t[j]!);
        if (p) raw[p[0]] = p[1];
      }
      const e = entryOfFields(raw);
      if (e) add(idx, { kind: 'access-log', rule: "a log tool's expanded view ({ [-] key: value)", says: describe(e), entry: e });
      continue;
    }
    if (line.startsWith('{')) {
      const idx = [i];
      let joined = line;
      for (let j = i + 1; !balanced(joined) && j < t.length && j < i + MAX_OBJECT_LINES; j++) {
        idx.push(j);
        joined += t[j]!.trim().startsWith('"') && joined.endsWith(',') ? t[j]!.trim() : t[j]!;
      }
      let raw: Record<string, unknown>;
      let rule = idx.length > 1 ? `a JSON object over ${idx.length} lines` : 'a JSON object on one line';
      try {
        raw = JSON.parse(joined);
      } catch {
        raw = pairsInText(joined);
        rule += ' (not valid JSON: its "key":value pairs)';
      }
      if (typeof raw !== 'object' || raw === null) continue;
      objectClue(raw, joined, idx, rule, add);
      continue;
    }
    // A fragment or a partial object: "key":value pairs without the object around them.
    if (/"[\w-]+"?\s*:/.test(line) || /^\s*[\w.-]+"\s*:/.test(line)) {
      const raw = pairsInText(line);
      const e = entryOfFields(raw);
      if (e) add([i], { kind: 'access-log', rule: 'access-log "key":value pairs outside a whole object', says: describe(e), entry: e });
    }
  }
}

function objectClue(raw: Record<string, unknown>, text: string, idx: number[], rule: string, add: Add) {
  if (isLabEntry(raw)) {
    const { ts, kind, ...rest } = raw as SeenEntry & Record<string, unknown>;
    const e: SeenEntry = { ...(rest as SeenEntry), ts, kind, whole: true };
    return add(idx, { kind: 'access-log', rule: "the lab's access.jsonl", says: describe(e), entry: e });
  }
  const e = entryOfFields(raw);
  if (e) return add(idx, { kind: 'access-log', rule: `${rule}: an access-log entry by its field names`, says: describe(e), entry: e });
  // An error body (a gateway wrapping Envoy's reply, Envoy's own JSON local reply).
  const texts = Object.values(raw).filter((v): v is string => typeof v === 'string');
  const code = Number(raw.code ?? raw.status);
  for (const s of [...texts, text]) {
    const reply = replyOfBody(s);
    if (reply) return add(idx, { kind: 'client', rule: `${rule}: Envoy's reply text in an error body`, says: `"${s.slice(0, 90)}"`, entry: { kind: 'http', ...reply, ...(code >= 100 && code < 600 ? { code } : {}) } });
  }
  // Anything else: an app's JSON log line, read for its words.
  const words = texts.join(' ');
  const rules = CLIENT_RULES.filter((r) => r.test.test(words));
  for (const r of rules) add(idx, { kind: 'app-log', rule: `${rule}: ${r.name}`, says: words.slice(0, 90), mark: r.mark });
  const marks = appLogMarks(text);
  for (const m of marks) add(idx, { kind: 'app-log', rule: `${rule}: the app's log`, says: m.says, mark: m.mark });
  if (!rules.length && !marks.length) add(idx, { kind: 'app-log', rule: `${rule}: no access-log fields, no mark`, says: words.slice(0, 90) });
}

function readTables(t: string[], free: Free, add: Add) {
  for (let i = 0; i < t.length; i++) {
    // A header row: cells between pipes, not a cluster name's pipes (outbound|80||host).
    if (!free(i) || !/^\s*\|?[^|]+\s\|\s[^|]+/.test(t[i]!)) continue;
    const table = tableRows(t.slice(i, i + 10_000));
    if (!table) continue;
    const idx = Array.from({ length: table.used }, (_, k) => i + k);
    for (const row of table.rows) {
      const e = entryOfFields(row);
      if (e) add(idx, { kind: 'access-log', rule: 'a Markdown table of access-log fields', says: `${describe(e)}${e.count ? ` × ${e.count}` : ''}`, entry: e });
    }
    i += table.used - 1;
  }
}

/** Access-log lines in text, a line cut by a terminal joined with what follows it. */
function readAccessLines(t: string[], free: Free, add: Add) {
  for (let i = 0; i < t.length; i++) {
    if (!free(i)) continue;
    const read = readAccessLine(t[i]!);
    if (read) {
      let best = read;
      const idx = [i];
      // A cut line may go on below (a wrapped terminal, a paste broken in two): join while it reads more.
      for (let j = i + 1; best.cut && j < t.length && j <= i + 3 && free(j) && !readAccessLine(t[j]!) && !/^\s*(?:\.\.\.|\[\d{4}-)/.test(t[j]!); j++) {
        const joined = readAccessLine(t.slice(i, j + 1).join(''));
        if (!joined || Object.keys(joined.entry).length <= Object.keys(best.entry).length) break;
        best = joined;
        idx.push(j);
      }
      add(idx, { kind: 'access-log', rule: `an access-log line (${best.form}${idx.length > 1 ? `, joined over ${idx.length} lines` : ''})`, says: describe(best.entry), entry: best.entry });
      continue;
    }
    // key=value formats: three known names or a strong one.
    if (/\b[a-z_]+=\S/.test(t[i]!)) {
      const e = entryOfFields(keyValuePairs(t[i]!));
      if (e) add([i], { kind: 'access-log', rule: 'an access-log line of key=value pairs', says: describe(e), entry: e });
    }
  }
}

const applyRules = (rules: LogRule[], message: string) => rules.map((r) => ({ r, m: r.test.exec(message) })).filter((x): x is { r: LogRule; m: RegExpExecArray } => x.m !== null);

/** A line that goes on a log message: a header the codec printed, indented text, protobuf text, a lone brace. */
const isContinuation = (line: string) => /^\s*'[\w:-]+', '/.test(line) || /^\s+\S/.test(line) || /^[{}\]]\s*$/.test(line.trim()) || /^[a-z_]+ \{$|^[a-z_]+: \S/.test(line);

/** Envoy's and pilot-agent's log lines, and Kubernetes events. */
function readLogLines(t: string[], free: Free, add: Add) {
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
function readResponses(t: string[], free: Free, add: Add) {
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
function readAdminTables(t: string[], free: Free, add: Add) {
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
function readWords(t: string[], free: Free, add: Add) {
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
