/**
 * An HTTP/1.0 client on a raw socket, as old SDKs and `curl -0` speak: one request per
 * connection, the body delimited by the server closing the connection when there is no
 * Content-Length. It times, from the client's side, the first byte, the end of the body (when
 * Content-Length says so) and the moment the other side closed: the seed's "every HTTP/1.0
 * request takes 1 s more" is the gap between the last byte and that close.
 */
import { connect } from 'node:net';
import type { Commands, Emit } from '../agent/protocol.js';
import type { Outcome } from './outcome.js';

export interface Http10Request {
  host: string;
  port: number;
  path?: string;
  /** The Host header (HTTP/1.0 does not require one; some clients send it). */
  hostHeader?: string;
  timeoutMs?: number;
}

let seq = 0;

function get(r: Http10Request, emit: Emit): Promise<Outcome> {
  const at = Date.now();
  const n = ++seq;
  return new Promise((resolve) => {
    const socket = connect({ host: r.host, port: r.port });
    let raw = Buffer.alloc(0);
    let firstByteAt: number | undefined;
    let lastByteAt: number | undefined;
    let finished = false;
    const finish = (o: Partial<Outcome>) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.destroy();
      const text = raw.toString('latin1');
      const [head = '', body = ''] = text.split('\r\n\r\n');
      const statusLine = head.split('\r\n')[0] ?? '';
      const contentLength = /\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1];
      const outcome: Outcome = {
        seq: n,
        at,
        latencyMs: Date.now() - at,
        op: `HTTP/1.0 GET ${r.path ?? '/'}${r.hostHeader ? ` (Host ${r.hostHeader})` : ''}`,
        status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]) || undefined,
        body: body.split('\n')[0]?.slice(0, 200),
        localPort: socket.localPort,
        firstByteMs: firstByteAt !== undefined ? firstByteAt - at : undefined,
        lastByteMs: lastByteAt !== undefined ? lastByteAt - at : undefined,
        statusLine,
        contentLength: contentLength === undefined ? undefined : Number(contentLength),
        ...o,
      };
      emit('outcome', { ...outcome });
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ closedBy: 'still-open', error: 'ETIMEDOUT' }), r.timeoutMs ?? 5000);
    socket.on('connect', () => {
      const host = r.hostHeader ? `Host: ${r.hostHeader}\r\n` : '';
      socket.write(`GET ${r.path ?? '/'} HTTP/1.0\r\n${host}Accept: */*\r\n\r\n`);
    });
    socket.on('data', (d: Buffer) => {
      firstByteAt ??= Date.now();
      lastByteAt = Date.now();
      raw = Buffer.concat([raw, d]);
    });
    // The server's FIN: the moment an HTTP/1.0 client without Content-Length knows the body ended.
    socket.on('end', () => finish({ closedBy: 'fin', closedAfterMs: Date.now() - at }));
    socket.on('error', (err: NodeJS.ErrnoException) => finish({ closedBy: err.code === 'ECONNRESET' ? 'rst' : undefined, error: err.code ?? err.name, closedAfterMs: Date.now() - at }));
  });
}

export const http10ClientCommands: Commands = {
  'http10.get': (r: Http10Request, emit) => get(r, emit),
};
