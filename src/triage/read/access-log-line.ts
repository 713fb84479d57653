/**
 * An access-log line in text, found by what anchors it rather than by where it starts: the quoted
 * request and the code and flags after it (`"GET /x HTTP/1.1" 503 UF`, `"- - -" 0 NR`), the same
 * unquoted in custom formats (`GET /x HTTP/2 503 UC`), or a fragment that starts at the code
 * (` 503 UF,URX "-" "TLS error: …"`). So a line cut at the front, behind a product's prefix, or
 * written by an older Envoy or Istio is read as far as it goes.
 *
 * After the anchor, Istio's format (pilot/pkg/model/telemetry_logging.go, EnvoyTextLogFormat)
 * and Envoy's default one share a shape: [details termination-details] ["failure reason"] bytes
 * bytes duration service-time "xff" "user-agent" ["request-id"] "authority" "upstream host"
 * cluster up-local ds-local ds-remote sni route. Istio ≥ 1.9 has the two bare details words; 1.5-1.8
 * a quoted failure reason (after a quoted mixer status); older ones and Envoy's default neither.
 * Custom unquoted formats are read for their anchor only: their other fields are not guessed.
 */
import { RESPONSE_FLAGS } from '../../envoy/response-flags.js';
import type { SeenEntry } from '../clue.js';

type Token = { quoted: boolean; text: string };

/** Splits text into quoted strings and bare words; an unclosed quote runs to the end (a cut line). */
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
      out.push({ quoted: true, text: line.slice(i + 1, end < 0 ? undefined : end) });
      i = end < 0 ? line.length : end + 1;
      continue;
    }
    let end = i;
    while (end < line.length && line[end] !== ' ' && line[end] !== '\t') end++;
    out.push({ quoted: false, text: line.slice(i, end) });
    i = end;
  }
  return out;
}

const isFlags = (s: string) => s === '-' || s.split(',').every((f) => f in RESPONSE_FLAGS || f === 'UMSDR');
const value = (s: string | undefined) => (s === undefined || s === '-' || s === '' || s === '- ' ? undefined : s.trim() || undefined);
const num = (s: string | undefined) => (value(s) === undefined || !/^-?\d+$/.test(s!) ? undefined : Number(s));
const ISO = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z?/;

// The method is "-" where Envoy refused the request before reading it (431, 426: "- - HTTP/1.1").
const QUOTED_REQUEST = /^"(?:(- - -)|([A-Z]{3,7}|-) (\S*?) ?(HTTP\/[\d.]+|-))"\s+(\d{1,3})\s+(\S+)/;

/** The quoted request and the code and flags after it, found from the quote before "HTTP/" (or "- - -"): no scan from every quote. */
function quotedRequest(line: string): (RegExpExecArray & { index: number }) | null {
  const http = line.indexOf(' HTTP/') >= 0 ? line.lastIndexOf('"', line.indexOf(' HTTP/')) : -1;
  const missingSpace = http < 0 ? line.search(/\S"?HTTP\/\d/) : -1;
  const tcp = line.indexOf('"- - -"');
  for (const at of [http, missingSpace >= 0 ? line.lastIndexOf('"', missingSpace) : -1, tcp]) {
    if (at < 0) continue;
    const m = QUOTED_REQUEST.exec(line.slice(at));
    if (m) return Object.assign(m, { index: at });
  }
  return null;
}
const BARE_REQUEST = /(?:^|\s)(GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS|CONNECT) (\/\S*|\*|[\w.-]+:\d+) (HTTP\/[\d.]+) (\d{3}|0) (\S+)(?=\s|$)/;
/** A fragment from the code on: code, flags, then details or a quoted field. */
const FRAGMENT = /^\s*(\d{3}|0) ([A-Z]{2,5}(?:,[A-Z]{2,5})*|-) (?=[a-z_]+[{ ]|"|[a-z_]+$)/;

export type LineForm = 'quoted request' | 'unquoted request' | 'fragment from the code';

/** The entry a text line holds, how it was anchored, or undefined when the line has no anchor. */
export function readAccessLine(line: string): { entry: SeenEntry; form: LineForm; cut: boolean } | undefined {
  // Every anchor needs one of these: most lines of a big log (Envoy's own) are out at once.
  if (!line.includes('HTTP/') && !line.includes('"- - -"') && !/^\s*\d{1,3} /.test(line)) return undefined;
  const quoted = quotedRequest(line);
  if (quoted && isFlags(quoted[6]!)) {
    const tcp = quoted[1] !== undefined;
    // Built field by field (no spreads): a big log has tens of thousands of these lines.
    const rest = readAfterFlags(line.slice(quoted.index + quoted[0].length));
    const e = rest.entry;
    e.kind = tcp ? 'tcp' : 'http';
    if (!tcp) {
      set(e, 'method', value(quoted[2]));
      set(e, 'protocol', value(quoted[4]));
    }
    e.code = Number(quoted[5]);
    set(e, 'flags', value(quoted[6]));
    set(e, 'ts', ISO.exec(line.slice(0, quoted.index))?.[0]);
    e.whole = e.ts !== undefined && !rest.cut;
    e.known = HEAD_FIELDS.concat(rest.known);
    return { entry: e, form: 'quoted request', cut: rest.cut };
  }
  const bare = BARE_REQUEST.exec(line);
  if (bare && isFlags(bare[5]!)) {
    return { entry: clean({ kind: 'http', method: bare[1], protocol: bare[3], code: Number(bare[4]), flags: value(bare[5]), ts: ISO.exec(line.slice(0, bare.index))?.[0], known: ['kind', 'method', 'protocol', 'code', 'flags'] }), form: 'unquoted request', cut: true };
  }
  const frag = FRAGMENT.exec(line);
  if (frag && isFlags(frag[2]!)) {
    const code = Number(frag[1]);
    const rest = readAfterFlags(line.slice(frag[0].length));
    return { entry: clean({ kind: code === 0 ? undefined : 'http', code, flags: value(frag[2]), ...rest.entry, known: ['code', 'flags', ...rest.known] }), form: 'fragment from the code', cut: true };
  }
  return undefined;
}

/** The fields after CODE FLAGS, as far as the line goes; `cut` when it ends before the addresses. */
function readAfterFlags(text: string): { entry: SeenEntry; cut: boolean; known: string[] } {
  const t = tokens(text);
  const e: SeenEntry = {};
  const put = <K extends keyof SeenEntry>(k: K, v: SeenEntry[K]) => set(e, k, v);
  const known: string[] = [];
  let k = 0;
  // Istio ≥ 1.9: two bare words (details, termination details) before the quoted failure reason.
  if (t[k] && !t[k]!.quoted && !/^-?\d+$/.test(t[k]!.text) && t[k]!.text !== '<snip>') {
    put('details', value(t[k++]!.text));
    known.push('details');
    if (t[k] && !t[k]!.quoted && !/^-?\d+$/.test(t[k]!.text)) put('cx_term', value(t[k++]!.text));
  }
  const beforeBytes: string[] = [];
  while (t[k]?.quoted) beforeBytes.push(t[k++]!.text);
  put('up_fail', value(beforeBytes.at(-1)));
  if (beforeBytes.length) known.push('up_fail');
  const nums: Array<string> = [];
  while (t[k] && !t[k]!.quoted && /^(?:-?\d+|-)$/.test(t[k]!.text) && nums.length < 4) nums.push(t[k++]!.text);
  if (nums.length >= 3) {
    put('duration_ms', num(nums[2]));
    known.push('duration_ms');
  }
  const q: string[] = [];
  while (t[k]?.quoted) q.push(t[k++]!.text);
  const bare = t.slice(k).map((x) => x.text);
  const whole = q.length >= 4 && (bare.length > 0 || q.length === 5);
  if (whole) {
    put('authority', value(q.at(-2)));
    put('up_host', value(q.at(-1)));
    known.push('authority', 'up_host');
  } else if (q.length >= 4) {
    put('authority', value(q[3]));
    put('up_host', value(q[4]));
    known.push('authority', ...(q.length >= 5 ? ['up_host'] : []));
  }
  const [cluster, upLocal, dsLocal, dsRemote, sni] = bare;
  if (whole) {
    put('up_cluster', value(cluster)?.replace(/;$/, ''));
    put('up_local', value(upLocal));
    put('ds_local', value(dsLocal));
    put('ds_remote', value(dsRemote));
    put('sni', value(sni));
    known.push(...['up_cluster', 'up_local', 'ds_local', 'ds_remote', 'sni'].slice(0, bare.length));
  }
  return { entry: e, cut: !whole || bare.length < 4, known };
}

const HEAD_FIELDS = ['kind', 'method', 'protocol', 'code', 'flags'];
/** Sets a field only when it has a value: absent fields stay absent, as the lab's entries have them. */
function set<K extends keyof SeenEntry>(e: SeenEntry, k: K, v: SeenEntry[K]): void {
  if (v !== undefined) e[k] = v;
}
const clean = (e: SeenEntry): SeenEntry => Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined)) as SeenEntry;
