/**
 * A real redis-server (Debian's package) on an upstream host: the "external redis" of seed 002.
 * Its own TCP keepalive is off so that every keepalive probe in the lab is one a scenario asked for.
 */
import { LabStartError, PrerequisiteError } from '../errors.js';
import type { Backend } from '../backends/backend.js';
import { waitUntil } from '../util/time.js';

export async function startRedis(backend: Backend, host: string, port: number, logFile: string): Promise<void> {
  // Looked up on the lab host itself: this machine's files on netns, the image's on docker.
  const found = await backend.exec(host, ['sh', '-c', 'command -v redis-server && command -v redis-cli']);
  const [server] = found.stdout.trim().split('\n');
  if (found.exitCode !== 0 || !server) {
    throw new PrerequisiteError(`redis-server / redis-cli are not installed on lab host ${host} (${backend.kind})`, {
      fix: backend.kind === 'docker' ? 'rebuild the images: `npm run lab -- images`' : 'apt-get install -y redis-server redis-tools (or `npm run lab -- doctor --fix`)',
    });
  }
  backend.spawn(host, [server, '--port', String(port), '--bind', '0.0.0.0', '--protected-mode', 'no', '--save', '', '--appendonly', 'no', '--tcp-keepalive', '0', '--timeout', '0'], { logFile });
  try {
    await waitUntil(async () => (await backend.exec(host, ['redis-cli', '-p', String(port), 'ping'])).stdout.trim() === 'PONG', { timeoutMs: 5000, what: `redis-server on ${host}:${port}` });
  } catch (err) {
    throw new LabStartError(`redis-server did not start on ${host}: ${(err as Error).message}`, { fix: `read ${logFile}`, cause: err });
  }
}
