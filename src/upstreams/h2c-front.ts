/**
 * One port, two protocols, as a gRPC-capable framework serves them without TLS: a connection whose
 * first bytes are HTTP/2's preface ("PRI * HTTP/2.0") goes to Node's HTTP/2 server (h2c, prior
 * knowledge), any other to the HTTP/1.1 server. `only` leaves HTTP/1.1 out: those bytes go to the
 * HTTP/2 server too, which answers them with a GOAWAY (PROTOCOL_ERROR), as an h2c-only server does.
 * Both servers are Node's own; this only chooses which one sees the connection.
 */
import { createServer as createH2Server, type Http2Server, type Http2ServerRequest, type Http2ServerResponse, type Http2Session } from 'node:http2';
import type { Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { Duplex } from 'node:stream';

const PREFACE = Buffer.from('PRI * HTTP/2.0');

/**
 * The socket as a stream that starts with the bytes already read. Node's HTTP/2 session reads the
 * socket's handle directly, so bytes put back with unshift() never reach it (measured: "bad client
 * magic"); given a plain Duplex, Node wraps it and reads through it. Ends and errors pass through.
 */
function withFirstBytes(socket: Socket, first: Buffer): Duplex {
  const d = new Duplex({
    read: () => void socket.resume(),
    write: (chunk, _enc, cb) => void socket.write(chunk, cb),
    final: (cb) => void socket.end(cb),
    destroy: (err, cb) => {
      socket.destroy(err ?? undefined);
      cb(err);
    },
  });
  // The peer and local addresses, for the app's own record of who called.
  Object.assign(d, { remoteAddress: socket.remoteAddress, remotePort: socket.remotePort, localAddress: socket.localAddress, localPort: socket.localPort });
  d.push(first);
  socket.on('data', (chunk) => d.push(chunk) || socket.pause());
  socket.on('end', () => d.push(null));
  socket.on('error', (err) => d.destroy(err));
  socket.on('close', () => d.destroy());
  return d;
}

export interface H2cFront {
  h2: Http2Server;
  listen(port: number, host: string): Promise<void>;
  close(): Promise<void>;
  /** Ends every HTTP/2 session (GOAWAY then close), as the process going away does. */
  closeSessions(): void;
}

/**
 * `onSession` is told of each HTTP/2 connection (the app's connection count); `extendedConnect`
 * announces SETTINGS_ENABLE_CONNECT_PROTOCOL, without which Node refuses a CONNECT with :protocol.
 */
export function h2cFront(
  http1: HttpServer,
  o: { only: boolean; extendedConnect: boolean; onUnreadable: (err: Error) => void; handler: (req: Http2ServerRequest, res: Http2ServerResponse) => void; onSession: (s: Http2Session) => void },
): H2cFront {
  const h2 = createH2Server({ settings: { enableConnectProtocol: o.extendedConnect } }, o.handler);
  const sessions = new Set<Http2Session>();
  // A connection that does not open with HTTP/2's preface ("bad client magic"): the app cannot read it.
  h2.on('sessionError', (err: Error) => o.onUnreadable(err));
  h2.on('session', (s: Http2Session) => {
    sessions.add(s);
    s.once('close', () => sessions.delete(s));
    o.onSession(s);
  });
  const front: NetServer = createNetServer((socket: Socket) => {
    socket.once('data', (first: Buffer) => {
      socket.pause();
      if (first.subarray(0, PREFACE.length).equals(PREFACE) || o.only) return void h2.emit('connection', withFirstBytes(socket, first));
      socket.unshift(first);
      http1.emit('connection', socket);
      socket.resume();
    });
  });
  return {
    h2,
    listen: (port, host) => new Promise<void>((resolve, reject) => front.once('error', reject).listen(port, host, resolve)),
    close: () => new Promise<void>((resolve) => {
      front.close(() => resolve());
      for (const s of sessions) s.destroy();
      http1.closeAllConnections();
    }),
    closeSessions: () => {
      for (const s of sessions) s.close();
    },
  };
}
