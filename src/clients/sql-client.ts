/**
 * The app's MariaDB/MySQL client: mysql2 with one kept connection (PooledConnection), like a Go
 * service on database/sql. A connection closed under it makes the next query fail ("Can't add new
 * command when connection is in closed state": Node's "invalid connection").
 */
import mysql from 'mysql2/promise';
import type { Commands } from '../agent/protocol.js';
import { PooledConnection, type Driver, type PooledConnectionOptions } from './pooled-connection.js';

type Conn = mysql.Connection & { connection: { stream?: { localPort?: number }; threadId?: number } };

const driver: Driver<Conn> = {
  name: 'mysql',
  async open(o, onClosed) {
    const c = (await mysql.createConnection({ host: o.host, port: o.port, user: 'app', enableKeepAlive: !!o.tcpKeepAliveMs, keepAliveInitialDelay: o.tcpKeepAliveMs ?? 0 })) as Conn;
    c.on('error', () => {}); // reported through the close event and the next query's outcome
    (c.connection.stream as unknown as NodeJS.EventEmitter | undefined)?.on('close', (hadError: boolean) => onClosed(hadError ? 'socket closed with an error' : 'socket closed'));
    return c;
  },
  run: async (c, sql) => JSON.stringify((await c.query(sql))[0]),
  id: (c) => c.threadId ?? undefined,
  localPort: (c) => c.connection.stream?.localPort,
  close: (c) => c.end(),
};

let pool: PooledConnection<Conn> | undefined;

export const sqlClientCommands: Commands = {
  'mysql.connect': async (o: PooledConnectionOptions, emit) => {
    pool = new PooledConnection(driver, o, emit);
    return pool.run('SELECT CONNECTION_ID()');
  },
  'mysql.query': ({ sql }: { sql: string }) => {
    if (!pool) throw new Error('mysql.connect first');
    return pool.run(sql);
  },
  'mysql.close': async () => pool?.close(),
};
