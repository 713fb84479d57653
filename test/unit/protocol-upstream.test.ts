/**
 * The app's protocols, on loopback: one port answers HTTP/1.1 and h2c (the first bytes choose),
 * WebSockets are echoed frame by frame, an h2c-only app refuses HTTP/1.1, and the WebSocket
 * client reports a refused handshake with its status. These are the instruments behind
 * websocket-upgrade; a broken one would make its phases pass or fail for the wrong reason.
 */
import { request } from 'node:http';
import { connect } from 'node:http2';
import { createServer } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { websocketClientCommands } from '../../src/clients/websocket-client.js';
import { httpUpstreamCommands } from '../../src/upstreams/http-upstream.js';

const PORT = 28000 + (process.pid % 1000);
const quiet = () => {};

function h2Get(port: number): Promise<{ status?: number; error?: string }> {
  return new Promise((resolve) => {
    const s = connect(`http://127.0.0.1:${port}`);
    s.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code }));
    const r = s.request({ ':path': '/status' });
    r.on('response', (h) => resolve({ status: Number(h[':status']) }));
    r.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code }));
    r.on('close', () => s.close());
    r.resume();
    r.end();
  });
}

function h1Get(port: number): Promise<{ status?: number; error?: string }> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/status', agent: false, timeout: 2000 }, (res) => {
      res.resume();
      resolve({ status: res.statusCode });
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code }));
    req.end();
  });
}

describe('the app upstream speaks what it is told to', () => {
  afterAll(async () => {
    await httpUpstreamCommands['http.stop']!({}, quiet);
  });

  it('serves HTTP/1.1, h2c and WebSockets on one port, and counts each', async () => {
    await httpUpstreamCommands['http.start']!({ name: 'app', ports: [PORT], h2c: true, websocket: true }, quiet);
    expect(await h1Get(PORT)).toEqual({ status: 200 });
    expect(await h2Get(PORT)).toEqual({ status: 200 });
    const chat = (await websocketClientCommands['ws.chat']!({ url: `ws://127.0.0.1:${PORT}/chat`, messages: 3, label: 'ws' }, quiet)) as Record<string, unknown>;
    expect(chat).toMatchObject({ status: 101, framesSent: 3, framesEchoed: 3, ok: true });
    const counts = (await httpUpstreamCommands['http.counts']!({}, quiet)) as Record<string, unknown>;
    expect(counts).toMatchObject({ protocols: { '1.1': 2, '2.0': 1 }, websockets: 1, websocketMessages: 3 });
  });

  it('an h2c-only app refuses HTTP/1.1 with an HTTP/2 GOAWAY', async () => {
    await httpUpstreamCommands['http.start']!({ name: 'h2only', ports: [PORT + 1], h2c: 'only' }, quiet);
    expect(await h2Get(PORT + 1)).toEqual({ status: 200 });
    const h1 = await h1Get(PORT + 1);
    expect(h1.status).toBeUndefined();
    expect(h1.error).toMatch(/HPE_|ECONNRESET|ERR/);
  });

  it('the WebSocket client reports a refused handshake with its status and body', async () => {
    const refusing = createServer((_req, res) => res.writeHead(403).end('upgrade failed'));
    refusing.on('upgrade', (_req, socket) => socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 14\r\n\r\nupgrade failed'));
    await new Promise<void>((r) => refusing.listen(PORT + 2, '127.0.0.1', r));
    const chat = (await websocketClientCommands['ws.chat']!({ url: `ws://127.0.0.1:${PORT + 2}/chat`, label: 'ws' }, quiet)) as Record<string, unknown>;
    refusing.close();
    expect(chat).toMatchObject({ status: 403, framesSent: 0, framesEchoed: 0, ok: false, error: 'UPGRADE_REFUSED', body: 'upgrade failed' });
  });
});
