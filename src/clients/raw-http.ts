/**
 * One HTTP/1.1 request (or one HTTP/2 request, http2.send) with exactly the header lines given (names in their case, a name given
 * twice sent twice), on a fresh connection, from any lab host: what a client outside the pod
 * sends to the app. The outcome carries the response's header names as they arrived and the
 * body (the app's echo of what it saw).
 */
import { request } from 'node:http';
import { connect, constants } from 'node:http2';
import type { Commands, Emit } from '../agent/protocol.js';
import type { Outcome } from './outcome.js';

export interface RawRequest {
  url: string;
  method?: string;
  /** [name, value] pairs, in order; a name may repeat. */
  headers: Array<[string, string]>;
  body?: string;
  /** What the timeline calls this request, e.g. "POST with two Content-Type lines". */
  label: string;
  timeoutMs?: number;
}

let seq = 0;

type Finish = (o: Omit<Outcome, 'seq' | 'at' | 'latencyMs'>) => void;

/** One request's bookkeeping: `run` gets a `finish` that records the outcome (once) and resolves. */
function oneRequest(r: RawRequest, emit: Emit, run: (finish: Finish) => void): Promise<Outcome> {
  const at = Date.now();
  const n = ++seq;
  return new Promise((resolve) => {
    let finished = false;
    run((o) => {
      if (finished) return;
      finished = true;
      const outcome: Outcome = { seq: n, at, latencyMs: Date.now() - at, op: r.label, ...o };
      emit('outcome', { ...outcome });
      resolve(outcome);
    });
  });
}

function send(r: RawRequest, emit: Emit): Promise<Outcome> {
  return oneRequest(r, emit, (done) => {
    const sentAt = Date.now();
    // The lab's client reads whatever header block Envoy passes on (Node's own limit is 16 KiB).
    const req = request(r.url, { method: r.method ?? 'GET', agent: false, timeout: r.timeoutMs ?? 3000, maxHeaderSize: 1024 * 1024 });
    const byName = new Map<string, string[]>();
    for (const [name, value] of r.headers) byName.set(name, [...(byName.get(name) ?? []), value]);
    for (const [name, values] of byName) req.setHeader(name, values.length === 1 ? values[0]! : values);
    req.on('socket', (s) => s.on('connect', () => (localPort = s.localPort)));
    let localPort: number | undefined;
    req.on('response', (res) => {
      let body = '';
      /** When the body's last byte so far came: a stream cut in a pause was cut that long after it. */
      let lastByteAt: number | undefined;
      const got = () => ({ status: res.statusCode, localPort, body: body.trim().slice(0, 2000), bodyBytes: Buffer.byteLength(body), lastByteMs: lastByteAt === undefined ? undefined : lastByteAt - sentAt, servedBy: res.headers['x-served-by'] as string | undefined, responseHeaderNames: res.rawHeaders.filter((_, i) => i % 2 === 0) });
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
        lastByteAt = Date.now();
      });
      res.on('end', () => done(got()));
      // A response cut off after its headers (a timeout under way, a reset): its status, the part of
      // the body that came, and how it ended.
      res.on('aborted', () => done({ ...got(), error: 'ECONNRESET', errorMessage: 'response aborted after its headers' }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => done({ error: err.code ?? err.name, errorMessage: err.message, localPort }));
    req.end(r.body);
  });
}

/** The same over HTTP/2 without TLS (h2c, prior knowledge): header names go lower-case on the wire, as HTTP/2 requires. */
function sendH2(r: RawRequest, emit: Emit): Promise<Outcome> {
  return oneRequest(r, emit, (finish) => {
    const url = new URL(r.url);
    const session = connect(url.origin);
    const done: Finish = (o) => {
      session.close();
      finish(o);
    };
    session.on('error', (err: NodeJS.ErrnoException) => done({ error: err.code ?? err.name, errorMessage: err.message }));
    const headers: Record<string, string | string[]> = { [constants.HTTP2_HEADER_METHOD]: r.method ?? 'GET', [constants.HTTP2_HEADER_PATH]: url.pathname };
    for (const [name, value] of r.headers) headers[name] = value;
    const stream = session.request(headers);
    stream.setTimeout(r.timeoutMs ?? 3000, () => stream.close(constants.NGHTTP2_CANCEL));
    let status: number | undefined;
    let names: string[] = [];
    let body = '';
    stream.on('response', (h) => {
      status = Number(h[constants.HTTP2_HEADER_STATUS]);
      names = Object.keys(h).filter((k) => !k.startsWith(':'));
    });
    // Trailers come (or not) before the stream's end: a gRPC client reads its status from them.
    let trailers: Record<string, string> | undefined;
    stream.on('trailers', (t) => (trailers = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, String(v)]))));
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => (body += d));
    stream.on('end', () => done({ status, body: body.trim().slice(0, 2000), bodyBytes: Buffer.byteLength(body), responseHeaderNames: names, trailers: trailers ?? {} }));
    stream.on('error', (err: NodeJS.ErrnoException) => done({ error: err.code ?? err.name, errorMessage: err.message }));
    stream.end(r.body);
  });
}

/** `count` copies of one request at once, each on its own connection, each recorded with its own outcome ("<label> 3/10"). */
function burst({ count, request }: { count: number; request: RawRequest }, emit: Emit): Promise<Outcome[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => send({ ...request, label: `${request.label} ${i + 1}/${count}` }, emit)));
}

export const rawHttpCommands: Commands = {
  'http.send': (r: RawRequest, emit) => send(r, emit),
  'http.burst': (b: { count: number; request: RawRequest }, emit) => burst(b, emit),
  'http2.send': (r: RawRequest, emit) => sendH2(r, emit),
};
