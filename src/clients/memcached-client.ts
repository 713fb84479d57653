/**
 * The app's memcached client: the text protocol over one kept TCP connection (PooledConnection),
 * like gomemcache's free list. Hand-written on purpose: Node's memcached libraries reconnect
 * behind the caller's back, which hides exactly the error the seed's Go clients reported; this
 * instrument shows it. Commands: "set <key> <value>", "get <key>".
 */
import { connect, type Socket } from 'node:net';
import type { Commands } from '../agent/protocol.js';
import { PooledConnection, type Driver, type PooledConnectionOptions } from './pooled-connection.js';

/** A reply ends with one of these lines. */
const END = /(?:^|\r\n)(STORED|NOT_STORED|END|ERROR|CLIENT_ERROR [^\r]*|SERVER_ERROR [^\r]*)\r\n$/;

function request(s: Socket, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    if (s.destroyed || s.readyState !== 'open') return reject(Object.assign(new Error('the connection is closed'), { code: 'ECONNCLOSED' }));
    let reply = '';
    const done = (err?: Error) => {
      s.off('data', onData).off('close', onClose).off('error', done);
      if (err) reject(err);
      else resolve(reply.trim().split('\r\n').join(' | '));
    };
    const onData = (b: Buffer) => {
      reply += b.toString();
      if (END.test(reply)) done();
    };
    const onClose = () => done(Object.assign(new Error('the connection closed before the reply'), { code: 'ECONNCLOSED' }));
    s.on('data', onData).on('close', onClose).on('error', done);
    s.write(line);
  });
}

const driver: Driver<Socket> = {
  name: 'memcached',
  open: (o, onClosed) =>
    new Promise((resolve, reject) => {
      const s = connect({ host: o.host, port: o.port });
      if (o.tcpKeepAliveMs) s.setKeepAlive(true, o.tcpKeepAliveMs);
      s.once('connect', () => resolve(s)).once('error', reject);
      s.on('error', () => {});
      s.on('close', (hadError) => onClosed(hadError ? 'socket closed with an error' : 'socket closed'));
    }),
  run(s, op) {
    const [cmd, key, value = ''] = op.split(' ');
    if (cmd === 'set') return request(s, `set ${key} 0 0 ${Buffer.byteLength(value)}\r\n${value}\r\n`);
    if (cmd === 'get') return request(s, `get ${key}\r\n`);
    return Promise.reject(new Error(`memcached client: unknown operation "${op}" (set <key> <value> | get <key>)`));
  },
  id: (s) => s.localPort,
  localPort: (s) => s.localPort,
  close: async (s) => {
    s.end('quit\r\n');
  },
};

let pool: PooledConnection<Socket> | undefined;

export const memcachedClientCommands: Commands = {
  'memcached.connect': async (o: PooledConnectionOptions, emit) => {
    pool = new PooledConnection(driver, o, emit);
    return pool.run('set session alive');
  },
  'memcached.command': ({ op }: { op: string }) => {
    if (!pool) throw new Error('memcached.connect first');
    return pool.run(op);
  },
  'memcached.close': async () => pool?.close(),
};
