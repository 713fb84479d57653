/**
 * A real server from a Debian package on a lab host (redis-server, mariadbd, memcached): found on
 * the host itself (this machine's files on netns, the image's on docker), started, and waited for
 * until it answers. One clear error when the package is missing or the server does not come up.
 */
import type { Backend } from '../backends/backend.js';
import { LabStartError, PrerequisiteError } from '../errors.js';
import { waitUntil } from '../util/time.js';

export interface RealServer {
  /** What the error messages call it, e.g. "mariadbd". */
  name: string;
  /** Executables it needs on the host, and the Debian packages that carry them. */
  binaries: string[];
  packages: string[];
  /** Runs before the server starts (e.g. initialising a data directory); non-zero exit = error. */
  prepare?: string[];
  argv: (paths: Record<string, string>) => string[];
  /** A command that exits 0 once the server answers. */
  ready: string[];
}

export async function startRealServer(backend: Backend, host: string, s: RealServer, logFile: string): Promise<void> {
  const found = await backend.exec(host, ['sh', '-c', s.binaries.map((b) => `command -v ${b}`).join(' && ')]);
  const paths = Object.fromEntries(s.binaries.map((b, i) => [b, found.stdout.trim().split('\n')[i] ?? '']));
  if (found.exitCode !== 0) {
    throw new PrerequisiteError(`${s.binaries.join(' / ')} ${s.binaries.length > 1 ? 'are' : 'is'} not installed on lab host ${host} (${backend.kind})`, {
      fix: backend.kind === 'docker' ? 'rebuild the images: `npm run lab -- images`' : `apt-get install -y ${s.packages.join(' ')} (or \`npm run lab -- doctor --fix\`)`,
    });
  }
  if (s.prepare) {
    const r = await backend.exec(host, s.prepare);
    if (r.exitCode !== 0) throw new LabStartError(`${s.name} could not be prepared on ${host}`, { evidence: (r.stderr || r.stdout).trim().split('\n').slice(-8).join('\n'), fix: `run by hand: ${s.prepare.join(' ')}` });
  }
  backend.spawn(host, s.argv(paths), { logFile });
  try {
    await waitUntil(async () => (await backend.exec(host, s.ready)).exitCode === 0, { timeoutMs: 10_000, what: `${s.name} on ${host}` });
  } catch (err) {
    throw new LabStartError(`${s.name} did not start on ${host}: ${(err as Error).message}`, { fix: `read ${logFile}`, cause: err });
  }
}
