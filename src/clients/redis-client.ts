/**
 * The app's redis client: ioredis with one pooled, reused connection, like a production app.
 * Reports every command as an outcome (with the server-side CLIENT ID of the connection that ran
 * it: same id = same connection) and every connection event ioredis emits (close, reconnecting…),
 * so a check can say exactly what the app saw when the sidecar closed its idle connection.
 * Optional app-level keepalive: a PING every pingEveryMs (what pools call a health check).
 */
import { Redis } from 'ioredis';
import type { Commands, Emit } from '../agent/protocol.js';

export interface RedisClientOptions {
  host: string;
  port: number;
  /** TCP keepalive on the app's socket (ms before the first probe); off when absent. */
  tcpKeepAliveMs?: number;
  /** App-level keepalive: PING this often (ms); off when absent. */
  pingEveryMs?: number;
}

let client: Redis | undefined;
let pinger: NodeJS.Timeout | undefined;
let seq = 0;
let pings = 0;

async function connect(o: RedisClientOptions, emit: Emit) {
  client = new Redis({ host: o.host, port: o.port, keepAlive: o.tcpKeepAliveMs ?? 0, lazyConnect: true, maxRetriesPerRequest: 1 });
  for (const what of ['connect', 'ready', 'close', 'end', 'reconnecting'] as const) {
    client.on(what, (arg?: unknown) => emit('app-event', { what: `redis ${what}`, detail: arg === undefined ? '' : String(arg) }));
  }
  client.on('error', (err: Error & { code?: string }) => emit('app-event', { what: 'redis error', detail: `${err.code ?? ''} ${err.message}`.trim() }));
  await client.connect();
  if (o.pingEveryMs) {
    pinger = setInterval(() => {
      pings++;
      client?.ping().catch(() => {});
    }, o.pingEveryMs);
  }
  return { clientId: await client.client('ID') };
}

/** Runs one command; never throws: the outcome (ok or the error ioredis reports) is the evidence. */
async function command({ args }: { args: string[] }, emit: Emit) {
  if (!client) throw new Error('redis.connect first');
  const at = Date.now();
  const op = args.join(' ');
  let outcome: Record<string, unknown>;
  try {
    const result = await client.call(args[0]!, ...args.slice(1));
    const clientId = await client.client('ID');
    outcome = { ok: true, result: String(result), clientId, localPort: (client as any).stream?.localPort };
  } catch (err) {
    const e = err as Error & { code?: string };
    outcome = { ok: false, error: e.code ?? e.name, errorMessage: e.message };
  }
  const full = { seq: ++seq, at, latencyMs: Date.now() - at, op, ...outcome };
  emit('outcome', full);
  return full;
}

export const redisClientCommands: Commands = {
  'redis.connect': connect,
  'redis.command': command,
  'redis.close': async () => {
    clearInterval(pinger);
    client?.disconnect();
    return { pings };
  },
};
