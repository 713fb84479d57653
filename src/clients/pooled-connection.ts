/**
 * What the seed's Go pools do with an idle connection, as one reusable piece: keep it, and hand
 * it out again without asking whether it is still alive (database/sql without ConnMaxIdleTime,
 * gomemcache's free list). Optionally retire it after `maxIdleMs` idle, the pool-side fix
 * (SetConnMaxIdleTime): like database/sql's connection cleaner, a timer closes it politely as
 * soon as it has been idle that long. Every operation is an outcome, every close an app event.
 */
import type { Emit } from '../agent/protocol.js';

export interface PooledConnectionOptions {
  host: string;
  port: number;
  /** TCP keepalive on the app's socket (ms before the first probe); off when absent. */
  tcpKeepAliveMs?: number;
  /** Retire the connection when it has been idle longer than this (ms) and open a new one. */
  maxIdleMs?: number;
}

/** A driver: how to open a connection, run one operation on it, and close it politely. */
export interface Driver<C> {
  name: string;
  open(o: PooledConnectionOptions, onClosed: (detail: string) => void): Promise<C>;
  run(c: C, op: string): Promise<string>;
  /** The server's id of the connection, or the local port: same value = same connection. */
  id(c: C): number | undefined;
  localPort(c: C): number | undefined;
  close(c: C): Promise<void>;
}

export class PooledConnection<C> {
  private conn: C | undefined;
  private lastUsed = 0;
  private seq = 0;
  private cleaner: NodeJS.Timeout | undefined;

  constructor(
    private readonly driver: Driver<C>,
    private readonly o: PooledConnectionOptions,
    private readonly emit: Emit,
  ) {}

  private async open(): Promise<C> {
    const opened = Date.now();
    this.conn = await this.driver.open(this.o, (detail) => this.emit('app-event', { what: `${this.driver.name} close`, detail: `${detail} (${Date.now() - this.lastUsed} ms after its last use, open ${Date.now() - opened} ms)` }));
    this.lastUsed = Date.now();
    this.emit('app-event', { what: `${this.driver.name} connect`, detail: `connection ${this.driver.id(this.conn)} from local port ${this.driver.localPort(this.conn)}` });
    return this.conn;
  }

  /** Runs one operation; never throws: the outcome (ok, or the error the driver reports) is the evidence. */
  async run(op: string): Promise<Record<string, unknown>> {
    const at = Date.now();
    let outcome: Record<string, unknown>;
    clearTimeout(this.cleaner);
    try {
      const c = this.conn ?? (await this.open());
      const result = await this.driver.run(c, op);
      outcome = { ok: true, result, clientId: this.driver.id(c), localPort: this.driver.localPort(c) };
    } catch (err) {
      const e = err as Error & { code?: string };
      outcome = { ok: false, error: e.code ?? e.name, errorMessage: e.message };
    }
    this.lastUsed = Date.now();
    if (this.o.maxIdleMs !== undefined) this.cleaner = setTimeout(() => void this.retire(), this.o.maxIdleMs);
    const full = { seq: ++this.seq, at, latencyMs: Date.now() - at, op, ...outcome };
    this.emit('outcome', full);
    return full;
  }

  /** The cleaner: the connection has been idle maxIdleMs; close it before anyone else does. */
  private async retire(): Promise<void> {
    if (!this.conn) return;
    this.emit('app-event', { what: `${this.driver.name} retire`, detail: `idle ${Date.now() - this.lastUsed} ms ≥ maxIdle ${this.o.maxIdleMs} ms: closed by the pool` });
    const c = this.conn;
    this.conn = undefined;
    await this.driver.close(c).catch(() => {});
  }

  async close(): Promise<void> {
    clearTimeout(this.cleaner);
    if (this.conn) await this.driver.close(this.conn).catch(() => {});
    this.conn = undefined;
  }
}
