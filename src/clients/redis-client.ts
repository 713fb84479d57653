/**
 * The app's redis client: ioredis with one pooled, reused connection, like a production app.
 * Reports every command as an outcome (with the server-side CLIENT ID of the connection that ran
 * it: same id = same connection) and every connection event ioredis emits (close, reconnecting…),
 * so a check can say exactly what the app saw when the sidecar closed its idle connection.
 * Optional app-level keepalive: a PING every pingEveryMs (what pools call a health check).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
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
  const c = client;
  return recordCommand(args, emit, async () => {
    const result = await c.call(args[0]!, ...args.slice(1));
    return { ok: true, result: String(result), clientId: await c.client('ID'), localPort: (c as any).stream?.localPort };
  });
}

/** Times one command and emits its outcome; never throws: what the client reported is the evidence. */
async function recordCommand(args: string[], emit: Emit, run: () => Promise<Record<string, unknown>>) {
  const at = Date.now();
  let outcome: Record<string, unknown>;
  try {
    outcome = await run();
  } catch (err) {
    const e = err as Error & { code?: string };
    outcome = { ok: false, error: e.code ?? e.name, errorMessage: e.message };
  }
  const full = { seq: ++seq, at, latencyMs: Date.now() - at, op: args.join(' '), ...outcome };
  emit('outcome', full);
  return full;
}

/**
 * The same app as redis-cli (--client redis-cli): one long-lived redis-cli reading commands from
 * a pipe, as a shell script or a cron job would drive it. It does not watch its idle socket, so it
 * learns of a close only at the next command ("Error: Server closed the connection" on stderr),
 * then reconnects by itself and runs the command. Each command is followed by CLIENT ID.
 */
class RedisCli {
  private readonly replies: string[] = [];
  private readonly errors: string[] = [];
  private waiting?: () => void;
  private readonly proc: ChildProcess;

  constructor(o: RedisClientOptions, emit: Emit) {
    // stdbuf: one reply per line as it comes, not a block when redis-cli exits.
    this.proc = spawn('stdbuf', ['-oL', 'redis-cli', '-h', o.host, '-p', String(o.port)], { stdio: ['pipe', 'pipe', 'pipe'] });
    createInterface({ input: this.proc.stdout! }).on('line', (line) => {
      this.replies.push(line);
      this.waiting?.();
    });
    createInterface({ input: this.proc.stderr! }).on('line', (line) => {
      emit('app-event', { what: 'redis-cli stderr', detail: line });
      this.errors.push(line);
      this.waiting?.();
    });
  }

  private queue: Promise<unknown> = Promise.resolve();

  /**
   * Sends one command line and waits for its one-line reply, or the error redis-cli prints for it.
   * One command at a time: redis-cli replies in order on one pipe, so the keepalive PING and the
   * app's command must not interleave (a PING sent mid-command would take the command's reply).
   */
  send(line: string, timeoutMs = 5000): Promise<string> {
    const turn = this.queue.then(() => this.sendNow(line, timeoutMs));
    this.queue = turn.catch(() => {});
    return turn;
  }

  private async sendNow(line: string, timeoutMs: number): Promise<string> {
    this.replies.length = 0;
    this.errors.length = 0;
    this.proc.stdin!.write(`${line}\n`);
    const deadline = Date.now() + timeoutMs;
    while (this.replies.length === 0) {
      if (this.errors.length) throw Object.assign(new Error(this.errors.join('; ')), { code: 'redis-cli error' });
      if (Date.now() > deadline) throw Object.assign(new Error(`redis-cli gave no reply to ${line} in ${timeoutMs} ms`), { code: 'ETIMEDOUT' });
      await new Promise<void>((r) => {
        this.waiting = r;
        setTimeout(r, 100);
      });
    }
    return this.replies.shift()!;
  }

  close(): void {
    this.proc.stdin!.end();
    setTimeout(() => this.proc.kill('SIGTERM'), 500).unref();
  }
}

let cli: RedisCli | undefined;

async function cliConnect(o: RedisClientOptions, emit: Emit) {
  if (o.tcpKeepAliveMs) throw new Error('redis-cli sets its own TCP keepalive (15 s) and cannot take tcpKeepAliveMs: this phase needs the lab\'s client');
  cli = new RedisCli(o, emit);
  const clientId = Number(await cli.send('CLIENT ID'));
  if (o.pingEveryMs) {
    pinger = setInterval(() => {
      pings++;
      cli?.send('PING').catch(() => {});
    }, o.pingEveryMs);
  }
  return { clientId };
}

async function cliCommand({ args }: { args: string[] }, emit: Emit) {
  if (!cli) throw new Error('redis.connect first');
  const c = cli;
  return recordCommand(args, emit, async () => {
    const result = await c.send(args.join(' '));
    const clientId = Number(await c.send('CLIENT ID'));
    return /^(ERR|WRONGTYPE|\(error\))/.test(result) ? { ok: false, error: 'redis error', errorMessage: result, clientId } : { ok: true, result, clientId };
  });
}

export const redisClientCommands: Commands = {
  'redis.connect': (o: RedisClientOptions & { impl?: 'redis-cli' }, emit) => (o.impl === 'redis-cli' ? cliConnect(o, emit) : connect(o, emit)),
  'redis.command': (a: { args: string[] }, emit) => (cli ? cliCommand(a, emit) : command(a, emit)),
  'redis.close': async () => {
    clearInterval(pinger);
    client?.disconnect();
    cli?.close();
    cli = undefined;
    return { pings };
  },
};
