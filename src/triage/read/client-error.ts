/**
 * What the app saw and what it logged, in its own words: its clients' errors (Go, Node, Java,
 * Python, database drivers, gRPC, WebSocket libraries) and its own log lines where they show a
 * mesh's mark (callers all at 127.0.0.6, header names all in lower case). Each rule names the mark
 * its text is; the lab's clients meet the same errors in its runs, and the scenario suite checks
 * that these rules name the marks each incident's signature declares.
 */
import type { EvidenceKind, Mark, SeenEntry } from '../clue.js';

export interface TextRule {
  name: string;
  kind: EvidenceKind;
  test: RegExp;
  mark?: Mark;
  entry?: (m: RegExpExecArray) => SeenEntry;
}

export const CLIENT_RULES: TextRule[] = [
  { name: 'connection refused', kind: 'client', test: /connection refused|ECONNREFUSED|\[Errno 111\]|errno[ =:]+111\b|Connection refused/i, mark: 'refused' },
  { name: 'connection reset', kind: 'client', test: /connection reset by peer|ECONNRESET|\[Errno 104\]|errno[ =:]+104\b/i, mark: 'reset' },
  {
    // Database and cache drivers on a pooled connection the other end (or a proxy) closed.
    name: "a pooled database or cache connection found closed",
    kind: 'client',
    test: /\binvalid connection\b|closing bad idle connection|Connection lost: The server closed the connection|Lost connection to (?:MySQL|MariaDB) server|Can not read response from server|Communications link failure|Connection is closed|server closed the connection unexpectedly|PROTOCOL_CONNECTION_LOST/i,
    mark: 'poolConnectionClosed',
  },
  {
    name: 'connection closed under the client',
    kind: 'client',
    test: /\bEOF(?:Exception)?\b|socket hang up|unexpected end of stream|connection (?:was )?(?:unexpectedly )?lost|broken pipe|\bEPIPE\b|read 0 bytes|ERR_STREAM_PREMATURE_CLOSE|ECONNABORTED/i,
    mark: 'closedUnderIt',
  },
  { name: 'WebSocket closed abnormally', kind: 'client', test: /\b1006\b.*(?:close|abnormal)|abnormal closure|close 1006/i, mark: 'websocketClosed' },
  {
    name: 'certificate for another name',
    kind: 'client',
    test: /x509: certificate is valid for [^,]+(?:, [^,]+)*, not \S+|ERR_TLS_CERT_ALTNAME_INVALID|does not match certificate's altnames|no alternative certificate subject name matches|certificate verify failed: Hostname mismatch|doesn't match any of the subject alternative names|hostname .* doesn't match/i,
    mark: 'certForAnotherName',
  },
  { name: 'TLS met plaintext', kind: 'client', test: /WRONG_VERSION_NUMBER|wrong version number|packet length too long|SSL connection error|socket layer receive error|server gave HTTP response to HTTPS client|first record does not look like a TLS handshake/i, mark: 'tlsMetPlaintext' },
  {
    name: 'WebSocket handshake refused',
    kind: 'client',
    test: /(?:HTTP (\d{3}): )?websocket: bad handshake|Unexpected server response: (\d{3})|Error during WebSocket handshake: Unexpected response code: (\d{3})/i,
    mark: 'websocketRefused',
    entry: (m) => {
      const code = Number(m[1] ?? m[2] ?? m[3]);
      return code ? { kind: 'http', code } : {};
    },
  },
  { name: 'gRPC status code', kind: 'client', test: /(?:Received )?HTTP status code (\d{3})|grpc-status:? '?(\d+)/i, entry: (m) => (m[1] ? { kind: 'http', code: Number(m[1]) } : {}) },
  { name: 'a status and its reason in an error', kind: 'client', test: /\b(?:status(?: code)?|HTTP)[ :=]+(4\d\d|5\d\d)\b/i, entry: (m) => ({ kind: 'http', code: Number(m[1]) }) },
  { name: 'a JSON error body with a code', kind: 'client', test: /"code"\s*:\s*"?(4\d\d|5\d\d)"?\s*[,}]/, entry: (m) => ({ kind: 'http', code: Number(m[1]) }) },
  { name: 'a Go panic in main (start-up)', kind: 'app-log', test: /^goroutine 1 \[running\]|^main\.main\(\)$/, mark: 'atStartUp' },
  { name: 'the app failed at start-up', kind: 'app-log', test: /\b(?:failed to start|error (?:during|on|at) start-?up|unable to (?:start|construct|initiali[sz]e)|startup failed|Application run failed|CrashLoopBackOff)\b/i, mark: 'atStartUp' },
];

/** Addresses an app logs for its callers: Common Log Format, an echo service's origin, key=value. */
const LOOPBACK_CALLER = /^(127\.0\.0\.[16]) - |"(?:origin|remote_?addr|client_?ip|remoteAddress|peer)"\s*:\s*"(127\.0\.0\.[16])|\b(?:remote_?addr|client_?ip|RemoteAddr|peer|from)[=:\s]+\[?(127\.0\.0\.[16])\b/i;

/** Header names an app logged (a map, `Name: value` lines, a JSON headers object). */
const HEADER_DUMP = /(?:^|[{,\s])([A-Za-z][\w-]*)=\[/g;
const CANONICAL = new Set(['content-type', 'user-agent', 'x-forwarded-for', 'x-forwarded-proto', 'x-request-id', 'authorization', 'content-length', 'accept', 'host', 'x-real-ip']);

/** Header names in a Java-style map (name=[…]), a JSON headers object, or a JSON list of header names. */
function headerNamesIn(line: string): string[] {
  const map = [...line.matchAll(HEADER_DUMP)].map((m) => m[1]!);
  if (map.length) return map;
  const json = /"(?:headers|headerNames|header_names)"\s*:\s*([\[{])([^\]}]*)/i.exec(line);
  if (!json) return [];
  const quoted = [...json[2]!.matchAll(/"([^"]+)"(\s*:)?/g)];
  return (json[1] === '{' ? quoted.filter((m) => m[2]) : quoted).map((m) => m[1]!);
}

export interface AppLogMark {
  mark: Mark;
  says: string;
}

/** Marks in the app's own log line, if any. */
export function appLogMarks(line: string): AppLogMark[] {
  const out: AppLogMark[] = [];
  const caller = LOOPBACK_CALLER.exec(line);
  // The caller's address forwarded to the app (X-Forwarded-For): the app can tell its callers apart.
  const forwarded = /"?(?:xff|x[-_]forwarded[-_]for)"?\s*[:=]\s*\[?"?(?!127\.)\d{1,3}(?:\.\d{1,3}){3}/i.test(line);
  if (caller && !forwarded) out.push({ mark: 'callerIsLoopback', says: `the app logged its caller as ${caller[1] ?? caller[2] ?? caller[3]}` });
  const names = headerNamesIn(line);
  if (names.length >= 4 && names.every((n) => n === n.toLowerCase()) && names.filter((n) => CANONICAL.has(n)).length >= 2) {
    out.push({ mark: 'headersLowercased', says: `the app logged ${names.length} header names, all lower case (${names.slice(0, 4).join(', ')}, …)` });
  }
  const ct = /\bcontent-type:\s*([\w.+-]+\/[\w.+-]+[^,\n]*,\s*[\w.+-]+\/[\w.+-]+[^\s]*)/i.exec(line) ?? /"content-?types?"\s*:\s*\[?\s*"([\w.+-]+\/[\w.+-]+[^",]*,\s*[\w.+-]+\/[^"]+)"/i.exec(line);
  if (ct) out.push({ mark: 'contentTypeJoined', says: `Content-Type: ${ct[1]}` });
  return out;
}
