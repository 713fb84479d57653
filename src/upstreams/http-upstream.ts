// Long: one request handler and the app behaviours scenarios ask of it (status, delays, resets,
// GOAWAY, h2c, idempotency keys, WebSocket), each a few lines beside the handler that branches to it.
/**
 * A fake upstream application (runs inside an upstream host): a plain Node HTTP/1.1 server that
 * says which host served each response (`x-served-by` header and body) and on which of its
 * connections. It is an instrument with faults you control:
 * - keepAliveTimeoutMs: Node's own idle timeout (it closes idle connections with a FIN), the
 *   "natural" keep-alive race of seed 003 (Node's default is 5 s);
 * - reset on idle reuse (armed by the reset-idle-reuse fault, src/faults/reset-idle-reuse.ts): a
 *   request that arrives on a connection idle at least that long is answered with a TCP RST, as
 *   in seed 003's packet trace. Deterministic, unlike the natural race; counted for the evidence.
 * - programmable responses (a slow upstream, a status sequence, a reset after the request was
 *   read, a slow body) and per-method-and-path counts of requests and of the work they did, with
 *   an idempotency-key mode that does the work of a repeated key once (the traffic-policy scenarios).
 * Kernel-level faults (blackhole, refuse) are applied around it by src/faults.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { constants as h2constants, type Http2ServerRequest, type Http2ServerResponse, type Http2Session } from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Commands, Emit } from '../agent/protocol.js';
import { h2cFront } from './h2c-front.js';
import { acceptWebSockets } from './websocket-echo.js';

export interface HttpUpstreamOptions {
  /** Host name reported in x-served-by. */
  name: string;
  ports: number[];
  /** Node's keep-alive timeout for idle connections (ms); default 60 s. Node 20 closes at this + 1 s. */
  keepAliveTimeoutMs?: number;
  /**
   * Close an idle kept-alive connection exactly this long after its last response (FIN), as a
   * server without Node's 1 s grace does: the natural keep-alive race, sampled fast.
   */
  idleCloseMs?: number;
  /** Status and body of every response (default 200, "<name> (<addr>)"). */
  status?: number;
  body?: string;
  /** The body is this many KiB of "x" (a large download); `body` wins when both are set. */
  bodyKb?: number;
  /** The body is exactly this many bytes of "x" (a size at a flow-control window's edge: 65535); wins over bodyKb. */
  bodyBytes?: number;
  /**
   * Trailers after the body, as a gRPC server ends every response ({"grpc-status": "0"}): HTTP/2
   * only, written with the body's last bytes in one go, as gRPC servers do.
   */
  trailers?: Record<string, string>;
  /**
   * The app's own view, as the body (JSON): the peer address of its socket, the header lines as
   * they arrived (names in their case, duplicates kept), X-Forwarded-For. The inbound scenarios
   * read what the app saw from it.
   */
  echo?: boolean;
  /** Like a strict framework (the seed's Spring MVC): 415 unless the first Content-Type line is one media type. */
  strictContentType?: boolean;
  /** Like a case-sensitive app: 400 unless a header line has exactly this name (e.g. "X-UserId"). */
  requireHeaderCase?: string;
  /** Extra response headers, names sent in this case (e.g. {"X-Request-Id": "…"}). */
  responseHeaders?: Record<string, string>;
  /** Answer without Content-Length (chunked to an HTTP/1.1 peer): the proxy must close to end an HTTP/1.0 response. */
  noContentLength?: boolean;
  /** Every response waits this long after the request's body before its headers: a slow upstream. */
  delayMs?: number;
  /**
   * What the n-th request this host serves gets, in order (then `status`): a status, 'reset' (the
   * request is read and its work done, then the connection is reset: no response), or a status
   * with its own delay. The sequence counts every request, retries included.
   */
  responses?: ResponseStep[];
  /** The body as a stream: `chunks` pieces, one every `everyMs` (a long download, server-sent events). */
  slowBody?: { chunks: number; everyMs: number };
  /**
   * Idempotency-key de-duplication, as a payments API does it: a request whose header of this
   * name repeats a key already seen does no work again and is answered 200 "duplicate of …".
   */
  idempotencyKey?: string;
  /**
   * A shadow copy's guard: a request it takes for mirrored traffic (its Host ends in `hostSuffix`,
   * or it arrived on `port`) is answered but does no work (counted in `shadowed`, not `work`).
   */
  shadowGuard?: { hostSuffix?: string; port?: number };
  /** The largest request header block it accepts, KiB (Node's default: 16; above it Node answers 431 itself). */
  maxHeaderKb?: number;
  /**
   * The app accepts WebSocket upgrades (the `ws` library) on any path and echoes every message:
   * frames that come back prove the upgrade went through every hop.
   */
  websocket?: boolean;
  /**
   * The app speaks HTTP/2 without TLS (h2c, prior knowledge) on the same ports as HTTP/1.1, as a
   * gRPC-capable framework does: the connection's first bytes choose. Node's HTTP/2 server, with
   * extended CONNECT (RFC 8441, WebSocket over HTTP/2) off unless `h2ExtendedConnect` is set.
   * `h2c: 'only'` refuses HTTP/1.1 (an h2c-only server: HTTP/1.1 bytes get a GOAWAY); `h2c: false`
   * is HTTP/1.1 alone. Either way set, the app counts the connections it could not read
   * (`unreadable`): HTTP/2's preface at an HTTP/1.1 server, HTTP/1.1 at an HTTP/2 one.
   */
  h2c?: boolean | 'only';
  /**
   * HTTP/2 only: at the n-th request on a connection the app sends GOAWAY naming that request's
   * stream as the last it will process, answers the streams up to it, then closes the connection;
   * streams the client had already sent past it are never answered. What an AWS ALB does at its
   * per-connection request limit (10,000), scaled down.
   */
  goawayAfter?: number;
  /**
   * The address the app listens on (default 0.0.0.0): '127.0.0.1' is an app bound to localhost
   * only, reachable from inside its pod and not on the pod's address.
   */
  bind?: string;
}

/** One step of a programmable response sequence. */
export type ResponseStep = number | 'reset' | { status: number; delayMs?: number };

/** What the app saw of one request (the echo body). */
export interface AppView {
  peer: string;
  headerNames: string[];
  contentTypes: string[];
  xff?: string;
  verdict: string;
}

/** The app's own judgement of a request, as a strict or case-sensitive app makes it. */
function appVerdict(o: HttpUpstreamOptions, raw: string[]): { status: number; why: string } {
  const names = raw.filter((_, i) => i % 2 === 0);
  const values = (name: string) => raw.flatMap((v, i) => (i % 2 === 1 && raw[i - 1]!.toLowerCase() === name.toLowerCase() ? [v] : []));
  if (o.requireHeaderCase && !names.includes(o.requireHeaderCase)) {
    const seen = names.filter((n) => n.toLowerCase() === o.requireHeaderCase!.toLowerCase());
    return { status: 400, why: `no ${o.requireHeaderCase} header${seen.length ? ` (got ${seen.join(', ')})` : ''}` };
  }
  const contentType = values('content-type')[0];
  if (o.strictContentType && contentType !== undefined && contentType.includes(',')) return { status: 415, why: `Unsupported Media Type: "${contentType}"` };
  return { status: o.status ?? 200, why: 'ok' };
}

interface ConnState {
  id: number;
  served: number;
  lastActivity: number;
  idleTimer?: NodeJS.Timeout;
}

/** Requests and the work they did, per "METHOD /path" (a retried POST is one request more, and one payout more unless de-duplicated). */
export interface UpstreamCounts {
  requests: Record<string, number>;
  work: Record<string, number>;
  /** Repeats of an idempotency key that did no work. */
  duplicatesAbsorbed: number;
  /** Requests the shadow guard took for mirrored traffic, which did no work. */
  shadowed: number;
  /** Requests that got a reset instead of a response. */
  resetsAfterRead: number;
  /** Requests per HTTP version as the app saw them ("1.1", "2.0"). */
  protocols: Record<string, number>;
  /** Requests per Host (HTTP/2: :authority) as they arrived: a mirrored copy's "-shadow" suffix shows here. */
  hosts: Record<string, number>;
  /** Requests per port they arrived on. */
  ports: Record<string, number>;
  /** WebSocket upgrades the app accepted, and the messages it echoed on them. */
  websockets: number;
  websocketMessages: number;
  /** Connections whose bytes the app could not read as its protocol (`h2c` set: counted), and the last error. */
  unreadable: number;
  lastUnreadable?: string;
  /** HTTP/2 GOAWAYs the app sent at its per-connection limit, and streams that reached it past one. */
  goaways: number;
  pastGoaway: number;
}

/** A listening port: its close (listener gone, waits for connections) and the cut of every connection. */
const servers: Array<{ close: () => Promise<void>; closeAllConnections: () => void }> = [];
const counts: UpstreamCounts = { requests: {}, work: {}, duplicatesAbsorbed: 0, shadowed: 0, resetsAfterRead: 0, protocols: {}, hosts: {}, ports: {}, websockets: 0, websocketMessages: 0, unreadable: 0, goaways: 0, pastGoaway: 0 };
const seenKeys = new Set<string>();
const bump = (m: Record<string, number>, k: string) => (m[k] = (m[k] ?? 0) + 1);

/** The step the n-th request (1-based) gets. */
function stepFor(o: HttpUpstreamOptions, n: number): { status?: number; delayMs: number; reset: boolean } {
  const step = o.responses?.[n - 1];
  if (step === 'reset') return { reset: true, delayMs: o.delayMs ?? 0 };
  if (typeof step === 'number') return { status: step, delayMs: o.delayMs ?? 0, reset: false };
  if (step) return { status: step.status, delayMs: step.delayMs ?? o.delayMs ?? 0, reset: false };
  return { delayMs: o.delayMs ?? 0, reset: false };
}
const conns = new WeakMap<Socket, ConnState>();
const sessionConns = new WeakMap<Http2Session, ConnState>();
let served = 0;
let nextConn = 1;
/** The reset-idle-reuse fault: armed threshold (ms), and what it did. */
let resetIdleReuseAfterMs: number | undefined;
let resets = 0;
let lastReset: string | undefined;

/** What a request came on: its connection's state, and how to reset it (an HTTP/2 stream is reset alone). */
function connOf(req: IncomingMessage | Http2ServerRequest): { conn?: ConnState; reset: () => void } {
  // A stream can still be delivered after its connection was closed (goawayAfter): no conn then.
  if ('stream' in req) return { conn: req.stream.session && sessionConns.get(req.stream.session), reset: () => req.stream.close(h2constants.NGHTTP2_INTERNAL_ERROR) };
  return { conn: conns.get(req.socket)!, reset: () => req.socket.resetAndDestroy() };
}

async function start(o: HttpUpstreamOptions, emit: Emit) {
  for (const port of o.ports) {
    const handler = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => {
      const socket = req.socket;
      const { conn, reset } = connOf(req);
      if (!conn) return void counts.pastGoaway++;
      const idleMs = Date.now() - conn.lastActivity;
      if (resetIdleReuseAfterMs !== undefined && conn.served > 0 && idleMs >= resetIdleReuseAfterMs) {
        resets++;
        lastReset = `RST on connection #${conn.id} after ${idleMs} ms idle`;
        emit('fault-fired', { host: o.name, fault: 'reset-idle-reuse', detail: lastReset });
        reset();
        return;
      }
      clearTimeout(conn.idleTimer);
      served++;
      conn.served++;
      const local = `${socket.localAddress}:${socket.localPort}`;
      emit('served', { host: o.name, method: req.method, url: req.url, peer: `${socket.remoteAddress}:${socket.remotePort}`, local, conn: conn.id, n: served, httpVersion: req.httpVersion });
      const what = `${req.method} ${(req.url ?? '/').split('?')[0]}`;
      if (o.goawayAfter !== undefined && 'stream' in req && conn.served > o.goawayAfter) return void counts.pastGoaway++;
      bump(counts.requests, what);
      bump(counts.protocols, req.httpVersion);
      bump(counts.hosts, String(req.headers[':authority'] ?? req.headers.host ?? '(none)'));
      bump(counts.ports, String(socket.localPort));
      if (o.goawayAfter !== undefined && 'stream' in req && conn.served === o.goawayAfter) goAway(req, res as Http2ServerResponse, conn, emit, o.name);
      const key = o.idempotencyKey ? (req.headers[o.idempotencyKey.toLowerCase()] as string | undefined) : undefined;
      const duplicate = key !== undefined && seenKeys.has(key);
      if (key !== undefined) seenKeys.add(key);
      const host = String(req.headers[':authority'] ?? req.headers.host ?? '');
      const shadow = !!o.shadowGuard && ((o.shadowGuard.hostSuffix !== undefined && host.replace(/:\d+$/, '').endsWith(o.shadowGuard.hostSuffix)) || socket.localPort === o.shadowGuard.port);
      if (duplicate) counts.duplicatesAbsorbed++;
      else if (shadow) counts.shadowed++;
      else bump(counts.work, what);
      const step = stepFor(o, served);
      const respond = () => {
        if (step.reset && !duplicate) {
          counts.resetsAfterRead++;
          emit('fault-fired', { host: o.name, fault: 'reset-after-read', detail: `${what} #${served}: work done, connection reset` });
          reset();
          return;
        }
        const verdict = duplicate ? { status: 200, why: 'duplicate' } : appVerdict(o, req.rawHeaders);
        if (step.status !== undefined && !duplicate) verdict.status = step.status;
        const view: AppView = {
          peer: `${socket.remoteAddress}:${socket.remotePort}`,
          headerNames: req.rawHeaders.filter((_, i) => i % 2 === 0),
          contentTypes: req.rawHeaders.flatMap((v, i) => (i % 2 === 1 && req.rawHeaders[i - 1]!.toLowerCase() === 'content-type' ? [v] : [])),
          xff: req.headers['x-forwarded-for'] as string | undefined,
          verdict: verdict.why,
        };
        const body = duplicate ? `duplicate of ${o.idempotencyKey} ${key}: done once, not again\n` : o.echo ? `${JSON.stringify(view)}\n` : (o.body ?? (o.bodyBytes !== undefined ? 'x'.repeat(o.bodyBytes) : o.bodyKb !== undefined ? 'x'.repeat(o.bodyKb * 1024) : `${o.name} (${local})\n`));
        const streamed = o.slowBody && !duplicate;
        res.writeHead(verdict.status, {
          ...o.responseHeaders,
          'content-type': o.echo ? 'application/json' : 'text/plain',
          ...(o.noContentLength || streamed ? {} : { 'content-length': Buffer.byteLength(body) }),
          'x-served-by': o.name,
        });
        const ended = () => {
          conn.lastActivity = Date.now();
          if (o.idleCloseMs === undefined) return;
          conn.idleTimer = setTimeout(() => {
            emit('host-event', { host: o.name, what: 'idle close', detail: String(Date.now() - conn.lastActivity) });
            socket.destroy();
          }, o.idleCloseMs);
        };
        if (o.trailers && 'stream' in req) (res as Http2ServerResponse).addTrailers(o.trailers);
        if (streamed) streamBody(res, body, o.slowBody!, ended);
        else res.end(body, ended);
      };
      // The body is read (and the work done) before the response, as a handler does.
      req.resume();
      req.once('end', () => (step.delayMs ? setTimeout(respond, step.delayMs) : respond()));
    };
    const server = createServer({ maxHeaderSize: (o.maxHeaderKb ?? 16) * 1024 }, handler);
    if (o.websocket) {
      acceptWebSockets(server, {
        name: o.name,
        emit,
        opened: (path) => (counts.websockets++, bump(counts.requests, `GET ${path}`), bump(counts.protocols, '1.1')),
        echoed: () => counts.websocketMessages++,
      });
    }
    server.on('connection', (socket: Socket) => {
      const conn: ConnState = { id: nextConn++, served: 0, lastActivity: Date.now() };
      conns.set(socket, conn);
      // Node's keep-alive timer fires as a socket timeout: the moment this server gives up on an
      // idle connection (the other side of the keep-alive race), measured, not assumed.
      socket.on('timeout', () => {
        if (conn.served > 0) emit('host-event', { host: o.name, what: 'idle close', detail: String(Date.now() - conn.lastActivity) });
      });
    });
    server.keepAliveTimeout = o.keepAliveTimeoutMs ?? 60_000;
    const unreadable = (err: Error & { code?: string }) => {
      counts.unreadable++;
      counts.lastUnreadable = `${err.code ?? err.name}: ${err.message}`;
      emit('host-event', { host: o.name, what: 'unreadable request', detail: counts.lastUnreadable });
    };
    if (o.h2c !== undefined) {
      // Counted, with Node's own answer to bytes it cannot parse kept (400, or 431 for a header block too large).
      server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
        unreadable(err);
        if (socket.writable) socket.end(`HTTP/1.1 ${err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400} Bad Request\r\nConnection: close\r\n\r\n`);
        else socket.destroy();
      });
    }
    if (o.h2c === true || o.h2c === 'only') {
      const front = h2cFront(server, {
        onUnreadable: unreadable,
        only: o.h2c === 'only',
        extendedConnect: false,
        handler,
        onSession: (session) => sessionConns.set(session, { id: nextConn++, served: 0, lastActivity: Date.now() }),
      });
      await front.listen(port, o.bind ?? '0.0.0.0');
      servers.push({ close: front.close, closeAllConnections: () => (server.closeAllConnections(), front.closeSessions()) });
      continue;
    }
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, o.bind ?? '0.0.0.0', resolve));
    servers.push({ close: () => new Promise<void>((resolve) => server.close(() => resolve())), closeAllConnections: () => server.closeAllConnections() });
  }
  return { ports: o.ports };
}

/**
 * The n-th request on an HTTP/2 connection: GOAWAY naming its stream as the last one processed;
 * once its response is out, the connection closes. Streams past it are never answered (the
 * handler returns before them), as an ALB ignores them.
 */
function goAway(req: Http2ServerRequest, res: Http2ServerResponse, conn: ConnState, emit: Emit, host: string): void {
  const session = req.stream.session!;
  session.goaway(h2constants.NGHTTP2_NO_ERROR, req.stream.id!);
  counts.goaways++;
  emit('host-event', { host, what: 'goaway', detail: `connection #${conn.id}: last stream ${req.stream.id} after ${conn.served} requests` });
  res.once('finish', () => setImmediate(() => session.destroy()));
}

/** Writes `body` as `chunks` pieces, one every `everyMs`; stops if the peer goes away. */
function streamBody(res: { destroyed: boolean; write(chunk: string): unknown; end(chunk: string, cb: () => void): unknown }, body: string, o: { chunks: number; everyMs: number }, ended: () => void): void {
  let sent = 0;
  const next = () => {
    if (res.destroyed) return;
    sent++;
    if (sent >= o.chunks) return void res.end(`chunk ${sent}/${o.chunks} ${body}`, ended);
    res.write(`chunk ${sent}/${o.chunks}\n`);
    setTimeout(next, o.everyMs);
  };
  next();
}

export const httpUpstreamCommands: Commands = {
  'http.start': start,
  /** Closes every open connection (FIN), as when the process behind the address goes away. */
  'http.closeConnections': () => {
    for (const s of servers) s.closeAllConnections();
    return { served };
  },
  /** The server process "dies": listeners closed, connections ended; the address stays up. */
  'http.stop': async () => {
    await Promise.all(servers.map((s) => {
      const closed = s.close();
      s.closeAllConnections();
      return closed;
    }));
    return { served };
  },
  'http.stats': () => ({ served }),
  'http.counts': (): UpstreamCounts => counts,
  'http.armResetIdleReuse': ({ afterMs }: { afterMs: number }) => {
    resetIdleReuseAfterMs = afterMs;
    return { armed: afterMs };
  },
  'http.faultStats': () => ({ resets, last: lastReset }),
};
