/**
 * One reader for a paste as people make it: mixed evidence, any order, noise between. The readers
 * take their lines in turn, the most structured first (JSON and tables, access-log lines, Envoy's
 * and pilot-agent's log, HTTP responses, admin tables), then the caller's and the app's own words
 * on what is left. Every clue keeps its line numbers and the rule that took it (`--explain`), and
 * what no rule took is reported as not understood: nothing is guessed silently.
 */
import type { Clue, ReadPaste, SeenEntry } from '../clue.js';
import { readAccessLine } from './access-log-line.js';
import { entryOfFields, isLabEntry, keyValuePairs, pairOfLine, pairsInText, tableRows } from './access-log-fields.js';
import { appLogMarks, CLIENT_RULES } from './client-error.js';
import { replyOfBody } from './envoy-replies.js';
import { pasteLines } from './paste.js';
import { readAdminTables, readLogLines, readResponses, readWords } from './read-messages.js';

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

/** Hands a clue over (it takes its lines); whether a line is still free for the next reader. */
export type Add = (idx: number[], clue: Omit<Clue, 'lines'>) => Clue;
export type Free = (i: number) => boolean;

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
