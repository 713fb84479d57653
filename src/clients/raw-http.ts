/**
 * One HTTP/1.1 request with exactly the header lines given (names in their case, a name given
 * twice sent twice), on a fresh connection, from any lab host: what a client outside the pod
 * sends to the app. The outcome carries the response's header names as they arrived and the
 * body (the app's echo of what it saw).
 */
import { request } from 'node:http';
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

function send(r: RawRequest, emit: Emit): Promise<Outcome> {
  const at = Date.now();
  const n = ++seq;
  return new Promise((resolve) => {
    const done = (o: Omit<Outcome, 'seq' | 'at' | 'latencyMs'>) => {
      const outcome: Outcome = { seq: n, at, latencyMs: Date.now() - at, op: r.label, ...o };
      emit('outcome', { ...outcome });
      resolve(outcome);
    };
    const req = request(r.url, { method: r.method ?? 'GET', agent: false, timeout: r.timeoutMs ?? 3000 });
    const byName = new Map<string, string[]>();
    for (const [name, value] of r.headers) byName.set(name, [...(byName.get(name) ?? []), value]);
    for (const [name, values] of byName) req.setHeader(name, values.length === 1 ? values[0]! : values);
    req.on('socket', (s) => s.on('connect', () => (localPort = s.localPort)));
    let localPort: number | undefined;
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () =>
        done({ status: res.statusCode, localPort, body: body.trim().slice(0, 2000), servedBy: res.headers['x-served-by'] as string | undefined, responseHeaderNames: res.rawHeaders.filter((_, i) => i % 2 === 0) }),
      );
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => done({ error: err.code ?? err.name, errorMessage: err.message, localPort }));
    req.end(r.body);
  });
}

export const rawHttpCommands: Commands = {
  'http.send': (r: RawRequest, emit) => send(r, emit),
};
