/**
 * The app's WebSocket endpoint (the `ws` library, as a Node app would use it): any path, every
 * message echoed back as it came. The upgrade is the app's own: a proxy that refuses it (403
 * upgrade_failed) means the app never sees the request, and frames that come back mean every hop
 * let the upgraded connection through.
 */
import type { Server as HttpServer } from 'node:http';
import { WebSocketServer } from 'ws';
import type { Emit } from '../agent/protocol.js';

export function acceptWebSockets(server: HttpServer, o: { name: string; emit: Emit; opened: (path: string) => void; echoed: () => void }): void {
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      const path = (req.url ?? '/').split('?')[0]!;
      o.opened(path);
      o.emit('served', { host: o.name, method: 'GET', url: req.url, upgrade: 'websocket', peer: `${req.socket.remoteAddress}:${req.socket.remotePort}` });
      ws.on('message', (data, isBinary) => {
        o.echoed();
        ws.send(data, { binary: isBinary });
      });
    });
  });
}
