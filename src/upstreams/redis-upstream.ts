/**
 * A real redis-server (Debian's package) on an upstream host: the "external redis" of seed 002.
 * Its own TCP keepalive is off so that every keepalive probe in the lab is one a scenario asked for.
 */
import { LabStartError, PrerequisiteError } from '../errors.js';
import { existsSync } from 'node:fs';
import type { Backend } from '../backends/backend.js';
import { waitUntil } from '../util/time.js';

export const REDIS_SERVER = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p));

export async function startRedis(backend: Backend, host: string, port: number, logFile: string): Promise<void> {
  if (!REDIS_SERVER) throw new PrerequisiteError('redis-server is not installed (the idle-timeout scenario runs a real one)', { fix: 'apt-get install -y redis-server (or `npm run lab -- doctor --fix`)' });
  backend.spawn(host, [REDIS_SERVER, '--port', String(port), '--bind', '0.0.0.0', '--protected-mode', 'no', '--save', '', '--appendonly', 'no', '--tcp-keepalive', '0', '--timeout', '0'], { logFile });
  try {
    await waitUntil(async () => (await backend.exec(host, ['redis-cli', '-p', String(port), 'ping'])).stdout.trim() === 'PONG', { timeoutMs: 5000, what: `redis-server on ${host}:${port}` });
  } catch (err) {
    throw new LabStartError(`redis-server did not start on ${host}: ${(err as Error).message}`, { fix: `read ${logFile}`, cause: err });
  }
}
