/**
 * A real redis-server (Debian's package) on an upstream host: the "external redis" of seed 002.
 * Its own TCP keepalive is off so that every keepalive probe in the lab is one a scenario asked for.
 */
import type { Backend } from '../backends/backend.js';
import { startRealServer } from './real-server.js';

export function startRedis(backend: Backend, host: string, port: number, logFile: string): Promise<void> {
  return startRealServer(
    backend,
    host,
    {
      name: 'redis-server',
      binaries: ['redis-server', 'redis-cli'],
      packages: ['redis-server', 'redis-tools'],
      argv: (p) => [p['redis-server']!, '--port', String(port), '--bind', '0.0.0.0', '--protected-mode', 'no', '--save', '', '--appendonly', 'no', '--tcp-keepalive', '0', '--timeout', '0'],
      ready: ['sh', '-c', `[ "$(redis-cli -p ${port} ping)" = PONG ]`],
    },
    logFile,
  );
}
