/**
 * A TLS site on an upstream host: a Node HTTPS server with one certificate from the lab CA.
 * As the real site it answers "hello from <name>"; as the seed's traefik catch-all it serves
 * *.example.com and answers 404 "404 page not found".
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { join } from 'node:path';
import type { Commands, Emit } from '../agent/protocol.js';
import { certFile } from './cert-names.js';

export interface TlsUpstreamOptions {
  name: string;
  port: number;
  certDir: string;
  /** The certificate it presents, e.g. "known.test" or "*.example.com". */
  cert: string;
  status?: number;
  body?: string;
}

async function start(o: TlsUpstreamOptions, emit: Emit) {
  const server = createServer(
    { cert: readFileSync(join(o.certDir, `${certFile(o.cert)}.crt`)), key: readFileSync(join(o.certDir, `${certFile(o.cert)}.key`)) },
    (req, res) => {
      const sni = (req.socket as unknown as { servername?: string }).servername ?? '';
      emit('served', { host: o.name, method: req.method, url: req.url, peer: `${req.socket.remoteAddress}:${req.socket.remotePort}`, local: `${req.socket.localAddress}:${req.socket.localPort}`, sni });
      const body = o.body ?? `hello from ${o.name}\n`;
      res.writeHead(o.status ?? 200, { 'content-type': 'text/plain', 'x-served-by': o.name });
      res.end(body);
    },
  );
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(o.port, '0.0.0.0', resolve));
  return { port: o.port };
}

export const tlsUpstreamCommands: Commands = { 'tls.start': start };
