/**
 * The app in the pod (`lab.app`): an HTTP caller (caller.ts) plus the protocol clients an app
 * uses behind its sidecar, each a typed verb over src/clients/: redis (ioredis or redis-cli),
 * MySQL/MariaDB, memcached, a raw TCP probe, an HTTPS call (Node or openssl), HTTP/1.0. With
 * --client the chosen third-party program makes the calls it can make.
 */
import type { Http10Request } from '../clients/http10-client.js';
import type { Outcome } from '../clients/outcome.js';
import type { PooledConnectionOptions } from '../clients/pooled-connection.js';
import type { RedisClientOptions } from '../clients/redis-client.js';
import type { TcpProbeOptions, TcpProbeResult } from '../clients/tcp-probe.js';
import type { TlsGetOptions } from '../clients/tls-client.js';
import { POD } from '../topology/topology.js';
import { Caller } from './caller.js';
import type { LabContext } from './lab-context.js';

/** A client on one pooled connection: connect, run commands on it, close. Each command is an outcome (same clientId = same connection). */
export interface PooledClient<Connect, Command> {
  connect(o: Connect): Promise<Outcome>;
  command(c: Command): Promise<Outcome>;
  close(): Promise<void>;
}

export class App extends Caller {
  constructor(lab: LabContext) {
    super(lab, POD.name);
  }

  /** The --client program for `kind` of call, when one was chosen (noted on the timeline). */
  private impl(kind: 'openssl' | 'redis-cli'): { impl?: string } {
    const impl = this.lab.options.httpClient?.impl;
    if (impl !== kind) return {};
    this.lab.note('app client', `${impl} makes this call`, { quiet: true });
    return { impl };
  }

  /** Redis with one pooled connection (ioredis; redis-cli with --client redis-cli), commands as `args`. */
  readonly redis: PooledClient<RedisClientOptions, { args: string[] }> = {
    connect: (o) => this.call('redis.connect', { ...o, ...this.impl('redis-cli') }),
    command: (c) => this.call('redis.command', c),
    close: () => this.call('redis.close', {}),
  };

  /** MySQL/MariaDB through a pool of one connection (database/sql's way), queries as `sql`. */
  readonly mysql: PooledClient<PooledConnectionOptions, { sql: string }> = {
    connect: (o) => this.call('mysql.connect', o),
    command: (c) => this.call('mysql.query', c),
    close: () => this.call('mysql.close', {}),
  };

  /** memcached through a pool of one connection (gomemcache's free list), text-protocol ops as `op`. */
  readonly memcached: PooledClient<PooledConnectionOptions, { op: string }> = {
    connect: (o) => this.call('memcached.connect', o),
    command: (c) => this.call('memcached.command', c),
    close: () => this.call('memcached.close', {}),
  };

  /** One plain TCP connection: send once, then time the silence until the peer closes it (FIN or RST). */
  tcpProbe(o: TcpProbeOptions): Promise<TcpProbeResult> {
    return this.call('tcp.probe', o, o.maxWaitMs + 30_000);
  }

  /** An HTTPS GET: the certificate presented, whether it verifies for the name, the answer (openssl with --client openssl). */
  tlsGet(o: TlsGetOptions): Promise<Outcome> {
    return this.call('tls.get', { ...o, ...this.impl('openssl') });
  }

  /** An HTTP/1.0 GET on its own connection, timed to the server's close. */
  http10Get(r: Http10Request): Promise<Outcome> {
    return this.call('http10.get', r);
  }
}
