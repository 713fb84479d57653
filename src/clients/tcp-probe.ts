/**
 * The raw-socket view of seed 002: one plain TCP connection, one request, then silence, timed to
 * the millisecond until the peer closes it (FIN or RST) or the wait ends.
 */
import { connect } from 'node:net';
import type { Commands, Emit } from '../agent/protocol.js';

export interface TcpProbeOptions {
  host: string;
  port: number;
  /** Bytes to send once connected, e.g. "PING\r\n". */
  send: string;
  /** Give up waiting for the close after this long (ms). */
  maxWaitMs: number;
  /** TCP keepalive on this socket (ms before the first probe); off when absent. */
  tcpKeepAliveMs?: number;
}

export interface TcpProbeResult {
  response: string;
  localPort?: number;
  /** ms from the last byte (either way) to the close; absent if still open at maxWaitMs. */
  closedAfterIdleMs?: number;
  closedBy: 'fin' | 'rst' | 'still-open';
}

let seq = 0;

function probe(o: TcpProbeOptions, emit: Emit): Promise<TcpProbeResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = connect({ host: o.host, port: o.port });
    if (o.tcpKeepAliveMs) socket.setKeepAlive(true, o.tcpKeepAliveMs);
    let response = '';
    let lastByte = Date.now();
    let localPort: number | undefined;
    let done = false;
    const finish = (closedBy: TcpProbeResult['closedBy']) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const idle = Date.now() - lastByte;
      const result: TcpProbeResult = { response, localPort, closedBy, closedAfterIdleMs: closedBy === 'still-open' ? undefined : idle };
      emit('outcome', { seq: ++seq, at: started, latencyMs: Date.now() - started, op: `TCP ${JSON.stringify(o.send.trim())}, then idle`, ok: response.length > 0, body: response.trim(), ...result });
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish('still-open'), o.maxWaitMs);
    socket.on('connect', () => {
      localPort = socket.localPort;
      socket.write(o.send, () => (lastByte = Date.now()));
    });
    socket.on('data', (d) => {
      response += d.toString();
      lastByte = Date.now();
    });
    socket.on('end', () => finish('fin'));
    socket.on('error', (e: NodeJS.ErrnoException) => finish(e.code === 'ECONNRESET' ? 'rst' : 'fin'));
    socket.on('close', () => finish('fin'));
  });
}

export const tcpProbeCommands: Commands = { 'tcp.probe': probe };
