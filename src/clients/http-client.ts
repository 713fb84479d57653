/**
 * The app in the pod: a serial keep-alive HTTP client, like the seed's Go service with its default
 * Transport. It resolves the target name through the pod's resolver (the lab DNS) whenever it
 * opens a connection, reuses one connection while the peer keeps it open, and reports every
 * outcome: status or error, latency, the local port of the connection that carried it, and the
 * upstream that answered. Bounded in count and duration: it always stops by itself.
 */
import diagnostics from 'node:diagnostics_channel';
import { Agent, request } from 'undici';
import type { Commands, Emit } from '../agent/protocol.js';
import { delay } from '../util/time.js';
import type { Outcome } from './outcome.js';
import { startThirdParty, stopThirdParty, type ThirdPartyHttpClient } from './third-party-http.js';

export interface HttpClientOptions {
  url: string;
  /** Start a request every `everyMs`, or right after the previous one if it took longer. */
  everyMs: number;
  maxRequests: number;
  maxDurationMs: number;
  /** Gives up on one request after this long (headers + body). */
  requestTimeoutMs: number;
  /** Connect timeout of the client's own dialer. */
  connectTimeoutMs: number;
  /** Idle time after which the client drops a pooled connection (Go: IdleConnTimeout 90 s, scaled). */
  keepAliveTimeoutMs: number;
  /** Instead of everyMs pacing: pause this long after each response (an idle gap on the connection). */
  gapAfterMs?: number;
  /** Random ± spread added to each wait. */
  jitterMs?: number;
  /**
   * A schedule of idle gaps instead: the pause after the n-th response is gapsMs[n - 1] (a sweep
   * across an upstream's close time). The client stops when the schedule is used up.
   */
  gapsMs?: number[];
  /** A third-party program as the app instead of this client (--client curl | go). */
  impl?: 'node' | ThirdPartyHttpClient;
  /** --client go: the built lab/clients/go-http binary (under the lab cache, readable in the pod). */
  goBinary?: string;
}

// undici announces each request's socket as it writes the headers: that is how we learn which
// downstream connection carried the request. The client is serial, so "the last one" is exact.
let lastLocalPort: number | undefined;
diagnostics.subscribe('undici:client:sendHeaders', (msg) => {
  lastLocalPort = (msg as { socket: { localPort?: number } }).socket.localPort;
});

let running: Promise<{ sent: number }> | undefined;
let stopping = false;
let wake: () => void = () => {};

async function runClient(o: HttpClientOptions, emit: Emit): Promise<{ sent: number }> {
  const dispatcher = new Agent({
    connections: 1,
    pipelining: 1,
    keepAliveTimeout: o.keepAliveTimeoutMs,
    keepAliveMaxTimeout: o.keepAliveTimeoutMs,
    headersTimeout: o.requestTimeoutMs,
    bodyTimeout: o.requestTimeoutMs,
    connect: { timeout: o.connectTimeoutMs },
  });
  const started = Date.now();
  let seq = 0;
  try {
    while (!stopping && seq < o.maxRequests && Date.now() - started < o.maxDurationMs) {
      const at = Date.now();
      const outcome = await sendOne(++seq, at, o, dispatcher);
      const scheduledGap = o.gapsMs?.[seq - 1];
      emit('outcome', { ...outcome, ...(o.gapsMs ? { idleGapMs: o.gapsMs[seq - 2] } : {}) });
      if (o.gapsMs && scheduledGap === undefined) break;
      const jitter = o.jitterMs ? (Math.random() * 2 - 1) * o.jitterMs : 0;
      const wait = (scheduledGap ?? o.gapAfterMs ?? o.everyMs - (Date.now() - at)) + jitter;
      if (wait > 0 && !stopping) await Promise.race([delay(wait), new Promise<void>((r) => (wake = r))]);
    }
  } finally {
    await dispatcher.destroy().catch(() => {});
  }
  return { sent: seq };
}

async function sendOne(seq: number, at: number, o: HttpClientOptions, dispatcher: Agent): Promise<Outcome> {
  lastLocalPort = undefined;
  try {
    const res = await request(o.url, {
      dispatcher,
      signal: AbortSignal.timeout(o.requestTimeoutMs + 500),
    });
    const text = await res.body.text();
    const header = (name: string) => {
      const v = res.headers[name];
      return Array.isArray(v) ? v.join(',') : v;
    };
    return {
      seq,
      at,
      latencyMs: Date.now() - at,
      status: res.statusCode,
      localPort: lastLocalPort,
      servedBy: header('x-served-by'),
      connectionHeader: header('connection'),
      body: text.split('\n')[0]?.slice(0, 200),
    };
  } catch (err) {
    const e = err as { code?: string; name?: string; message?: string; cause?: { code?: string } };
    return {
      seq,
      at,
      latencyMs: Date.now() - at,
      error: e.cause?.code ?? e.code ?? e.name ?? 'Error',
      errorMessage: e.message,
      localPort: lastLocalPort,
    };
  }
}

export const httpClientCommands: Commands = {
  'client.start': (o: HttpClientOptions, emit) => {
    if (running) throw new Error('the client is already running');
    if (o.impl && o.impl !== 'node') {
      startThirdParty({ ...o, impl: o.impl }, emit);
      running = Promise.resolve({ sent: 0 });
      return { started: true, impl: o.impl };
    }
    stopping = false;
    running = runClient(o, emit);
    return { started: true };
  },
  /** Stops after the request in flight; resolves with the count sent. */
  'client.stop': async () => {
    stopping = true;
    wake();
    const thirdParty = await stopThirdParty();
    const result = await running;
    running = undefined;
    return thirdParty ?? result ?? { sent: 0 };
  },
};
