/**
 * An HTTP response as a caller has it: `curl -v` (`< ` headers, `* ` notes, the certificate's
 * subject and SANs, `> ` request), `curl -i` / `-D -` (plain headers), or a raw response written
 * out. What it tells triage: the status and the request's protocol; whether Envoy was on the path
 * (`server: envoy` / `istio-envoy`) and whether an upstream answered (`x-envoy-upstream-service-time`
 * is set only then); Envoy's reply in the body or, without a body, its Content-Length; a
 * Content-Type with joined values; a certificate for another name than the one dialled; and the
 * shell's `time` after it.
 */
import type { Mark, SeenEntry } from '../clue.js';
import { replyOfBody, repliesOfLength } from './envoy-replies.js';

export interface HttpResponse {
  /** Input indexes (into the lines given) it took. */
  used: number[];
  entries: SeenEntry[];
  marks: Array<{ mark: Mark; says: string }>;
  says: string;
}

const STATUS = /^(?:< )?HTTP\/([\d.]+) (\d{3})\b/;
const HEADER = /^(?:< )?([A-Za-z][\w-]*):\s?(.*)$/;

/** The response starting at `lines[start]` (a status line), with the lines before it that belong to the same curl run. */
export function readHttpResponse(lines: string[], start: number, context: { host?: string; requestProtocol?: string }): HttpResponse | undefined {
  const status = STATUS.exec(lines[start]!.trim());
  if (!status) return undefined;
  // An interim 100 Continue: the final response follows.
  if (status[2]!.startsWith('1')) return { used: [start], entries: [], marks: [], says: `HTTP ${status[2]}` };
  const code = Number(status[2]);
  const used = [start];
  const headers = new Map<string, string[]>();
  let i = start + 1;
  for (; i < lines.length; i++) {
    const l = lines[i]!.trim();
    if (l === '' || l === '<') {
      used.push(i);
      i++;
      break;
    }
    const h = HEADER.exec(l);
    if (!h) break;
    used.push(i);
    const name = h[1]!.toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), h[2]!.trim()]);
  }
  // The body: up to the next status line, curl note, prompt or blank line.
  const body: string[] = [];
  for (; i < lines.length && body.length < 20; i++) {
    const l = lines[i]!;
    // curl's notes between the headers and the body ("* Connection #0 to host left intact", a bare "<").
    if ((/^\* /.test(l) || /^<\s*$/.test(l)) && body.length === 0) {
      used.push(i);
      continue;
    }
    const data = /^\{ \[(\d+) bytes data\]/.exec(l);
    if (data && body.length === 0) {
      used.push(i);
      if (!headers.has('content-length')) headers.set('content-length', [data[1]!]);
      continue;
    }
    if (l.trim() === '' || STATUS.test(l.trim()) || /^[*<>{}] |^\$ |^#|^real\s/.test(l)) break;
    body.push(l);
    used.push(i);
  }
  const server = headers.get('server')?.[0];
  const viaEnvoy = server !== undefined && /envoy/i.test(server);
  const upstreamAnswered = headers.has('x-envoy-upstream-service-time');
  const bodyText = body.join('\n').replace(/%$/, '');
  const entries: SeenEntry[] = [];
  const reply = bodyText ? replyOfBody(bodyText) : undefined;
  const base: SeenEntry = { kind: 'http', code, protocol: context.requestProtocol };
  if (reply) entries.push({ ...base, ...reply, code });
  else if (!upstreamAnswered && headers.has('content-length') && !bodyText) {
    // No body pasted: Envoy's reply of that status and length, if exactly one fits.
    const fits = repliesOfLength(code, Number(headers.get('content-length')![0]));
    if (fits.length === 1 && (viaEnvoy || fits[0]!.details)) entries.push({ ...base, ...fits[0]! });
    else entries.push(base);
  } else entries.push(base);
  if (headers.get('x-envoy-overloaded')?.[0] === 'true') entries[0] = { ...entries[0]!, flags: 'UO' };
  const marks: HttpResponse['marks'] = [];
  const joined = (headers.get('content-type') ?? []).find((v) => /[\w.+-]+\/[\w.+-]+[^,]*,\s*[\w.+-]+\/[\w.+-]+/.test(v));
  if (joined) marks.push({ mark: 'contentTypeJoined', says: `content-type: ${joined}` });
  const via = viaEnvoy ? ` (server: ${server}${upstreamAnswered ? ', the upstream answered' : ', no x-envoy-upstream-service-time: Envoy answered itself'})` : '';
  return { used, entries, marks, says: `HTTP ${code}${context.host ? ` from ${context.host}` : ''}${via}${bodyText ? `: "${bodyText.slice(0, 80)}"` : ''}` };
}

/** The host a curl run dialled (`curl https://host`, `* Connected to host`, `> Host: host`). */
export function curlHost(line: string): string | undefined {
  return (
    /\bcurl\b.*?\bhttps?:\/\/([\w.-]+)/.exec(line)?.[1] ??
    /\bcurl\b(?:\s+-\S+(?:\s+'[^']*')?)*\s+([a-z][\w-]*(?:\.[\w-]+)+)(?::\d+)?(?:\/|\s|$)/.exec(line)?.[1] ??
    /^\* (?:Connected to|Host) ([\w.-]+)[ :(]/.exec(line)?.[1] ??
    /^> Host: ([\w.-]+)/i.exec(line)?.[1]
  );
}

/** The certificate's names in curl -v: the subject's CN and any subjectAltName curl printed. */
export function certificateNames(line: string): string[] | undefined {
  const cn = /^\*\s+subject:.*?\bCN\s*=\s*([^;,/\s]+)/.exec(line);
  if (cn) return [cn[1]!];
  const san = /^\*\s+subjectAltName: host "([^"]+)" matched cert's "([^"]+)"/.exec(line);
  return san ? [san[2]!] : undefined;
}

/** Whether a certificate name covers a host (one wildcard label at the front). */
export const nameCovers = (name: string, host: string) => {
  const n = name.toLowerCase();
  const h = host.toLowerCase();
  return n === h || (n.startsWith('*.') && h.endsWith(n.slice(1)) && !h.slice(0, -n.length + 1).includes('.'));
};
