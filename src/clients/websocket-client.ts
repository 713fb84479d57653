/**
 * The app's WebSocket client (the `ws` library): opens ws://…, sends `messages` text frames one
 * after another, each waiting for its echo, then closes. The outcome says how far it got: the
 * handshake's status (101, or what the proxy answered instead, with its body), how many frames
 * went out and how many came back.
 */
import WebSocket from 'ws';
import type { Commands, Emit } from '../agent/protocol.js';
import type { Outcome } from './outcome.js';

export interface WebSocketChat {
  url: string;
  /** Text frames to send, each waiting for its echo (default 3). */
  messages?: number;
  label: string;
  timeoutMs?: number;
}

let seq = 0;

/** Each echo on the timeline: a room watching the demo sees the frames stop where the connection went. */
const emitEcho = (emit: Emit, echoed: number, sent: number, localPort?: number) => emit('app-event', { what: 'websocket echo', detail: `frame ${echoed} of ${sent} back (local port ${localPort})` });

function chat(c: WebSocketChat, emit: Emit): Promise<Outcome> {
  const at = Date.now();
  const n = ++seq;
  const want = c.messages ?? 3;
  return new Promise((resolve) => {
    let framesSent = 0;
    let framesEchoed = 0;
    let status: number | undefined;
    let localPort: number | undefined;
    let finished = false;
    const ws = new WebSocket(c.url, { handshakeTimeout: c.timeoutMs ?? 3000 });
    const finish = (o: Partial<Outcome>) => {
      if (finished) return;
      finished = true;
      clearTimeout(guard);
      ws.terminate();
      const outcome: Outcome = { seq: n, at, latencyMs: Date.now() - at, op: c.label, status, localPort, framesSent, framesEchoed, ok: framesEchoed === want, ...o };
      emit('outcome', { ...outcome });
      resolve(outcome);
    };
    // A bound on the whole exchange: frames that never come back end it as a timeout.
    const guard = setTimeout(() => finish({ error: 'ETIMEDOUT', errorMessage: `${framesEchoed} of ${framesSent} frame(s) echoed after ${c.timeoutMs ?? 3000} ms` }), (c.timeoutMs ?? 3000) + 1000 * want);
    const sendNext = () => {
      framesSent++;
      ws.send(`message ${framesSent}/${want}`);
    };
    ws.on('upgrade', (res) => {
      status = res.statusCode;
      localPort = res.socket.localPort;
    });
    ws.on('open', sendNext);
    ws.on('message', () => {
      framesEchoed++;
      emitEcho(emit, framesEchoed, framesSent, localPort);
      if (framesEchoed < want) sendNext();
      else ws.close(1000);
    });
    ws.on('close', (code) => finish(framesEchoed === want ? {} : { error: 'CLOSED', errorMessage: `closed with code ${code} after ${framesEchoed} of ${want} echo(es)` }));
    // The proxy (or the app) refused the upgrade: its status and its body, as the app's logs would show.
    ws.on('unexpected-response', (_req, res) => {
      status = res.statusCode;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      // errorMessage is the ws library's own text for a refused upgrade (what an app using ws logs).
      res.on('end', () => finish({ body: body.trim().slice(0, 2000), error: 'UPGRADE_REFUSED', errorMessage: `Unexpected server response: ${res.statusCode}` }));
      res.on('error', () => finish({ error: 'UPGRADE_REFUSED' }));
    });
    ws.on('error', (err: NodeJS.ErrnoException) => finish({ error: err.code ?? err.name, errorMessage: err.message }));
  });
}

export interface WebSocketHold {
  url: string;
  /** Keep it open this long (ms), sending a frame every `everyMs` (each echoed), unless it closes first. */
  durationMs: number;
  everyMs: number;
  label: string;
}

/**
 * A long-lived WebSocket (a dashboard, a chat): opened, used every `everyMs`, kept `durationMs`.
 * The outcome says whether it lived that long; if not, when it closed (ms after opening), who
 * closed it (a close frame from the other end, or the TCP connection going) and how many frames
 * came back before.
 */
function hold(h: WebSocketHold, emit: Emit): Promise<Outcome> {
  const at = Date.now();
  const n = ++seq;
  return new Promise((resolve) => {
    let framesSent = 0;
    let framesEchoed = 0;
    let status: number | undefined;
    let localPort: number | undefined;
    let openedAt: number | undefined;
    let finished = false;
    const ws = new WebSocket(h.url, { handshakeTimeout: 3000 });
    const finish = (o: Partial<Outcome>) => {
      if (finished) return;
      finished = true;
      clearInterval(ticker);
      clearTimeout(end);
      ws.terminate();
      const outcome: Outcome = { seq: n, at, latencyMs: Date.now() - at, op: h.label, status, localPort, framesSent, framesEchoed, ...o };
      emit('outcome', { ...outcome });
      resolve(outcome);
    };
    const ticker = setInterval(() => {
      if (ws.readyState !== WebSocket.OPEN) return;
      framesSent++;
      ws.send(`tick ${framesSent}`);
    }, h.everyMs);
    const end = setTimeout(() => finish({ ok: true, closedBy: 'still-open', closedAfterMs: openedAt !== undefined ? Date.now() - openedAt : undefined }), h.durationMs + 3000);
    ws.on('upgrade', (res) => {
      status = res.statusCode;
      localPort = res.socket.localPort;
    });
    ws.on('open', () => {
      openedAt = Date.now();
      clearTimeout(end);
      setTimeout(() => finish({ ok: true, closedBy: 'still-open', closedAfterMs: Date.now() - openedAt! }), h.durationMs);
    });
    ws.on('message', () => emitEcho(emit, ++framesEchoed, framesSent, localPort));
    // Closed before its time: by whom (a close frame, or the connection cut) and when.
    ws.on('close', (code) => finish({ ok: false, closedBy: code === 1006 ? 'fin' : undefined, closedAfterMs: openedAt !== undefined ? Date.now() - openedAt : undefined, error: 'CLOSED', errorMessage: `closed with code ${code}${code === 1006 ? ' (no close frame: the connection went)' : ''} after ${framesEchoed} echo(es)` }));
    ws.on('unexpected-response', (_req, res) => finish({ status: res.statusCode, ok: false, error: 'UPGRADE_REFUSED', errorMessage: `Unexpected server response: ${res.statusCode}` }));
    ws.on('error', (err: NodeJS.ErrnoException) => finish({ ok: false, error: err.code ?? err.name, errorMessage: err.message }));
  });
}

export const websocketClientCommands: Commands = {
  'ws.chat': (c: WebSocketChat, emit) => chat(c, emit),
  'ws.hold': (h: WebSocketHold, emit) => hold(h, emit),
};
