/**
 * A fake upstream application (runs inside an upstream host): a plain Node HTTP/1.1 server that
 * says which host served each response (`x-served-by` header and body). It is an instrument:
 * kernel-level faults (blackhole, refuse) are applied around it by src/faults, and it can drop
 * its open connections on command, like a service that dies.
 */
import { createServer, type Server } from 'node:http';
import type { Commands, Emit } from '../agent/protocol.js';

export interface HttpUpstreamOptions {
  /** Host name reported in x-served-by. */
  name: string;
  ports: number[];
  /** Node's keep-alive timeout for idle client connections (ms). */
  keepAliveTimeoutMs?: number;
}

const servers: Server[] = [];
let served = 0;

async function start({ name, ports, keepAliveTimeoutMs = 60_000 }: HttpUpstreamOptions, emit: Emit) {
  for (const port of ports) {
    const server = createServer((req, res) => {
      served++;
      const peer = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
      const local = `${req.socket.localAddress}:${req.socket.localPort}`;
      emit('served', { host: name, method: req.method, url: req.url, peer, local, n: served });
      const body = `${name} (${local})\n`;
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), 'x-served-by': name });
      res.end(body);
    });
    server.keepAliveTimeout = keepAliveTimeoutMs;
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '0.0.0.0', resolve));
    servers.push(server);
  }
  return { ports };
}

export const httpUpstreamCommands: Commands = {
  'http.start': start,
  /** Closes every open connection (FIN), as when the process behind the address goes away. */
  'http.closeConnections': () => {
    for (const s of servers) s.closeAllConnections();
    return { served };
  },
  'http.stats': () => ({ served }),
};
