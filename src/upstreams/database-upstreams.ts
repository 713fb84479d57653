/**
 * The other external servers of seed 002's update, from Debian's packages: a real MariaDB and a
 * real memcached, each with its own idle timeout (MariaDB wait_timeout, memcached idle_timeout),
 * so a scenario can set who closes an idle connection first: Envoy or the server.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Backend } from '../backends/backend.js';
import { startRealServer } from './real-server.js';

export interface MariaDbOptions {
  /** Seconds an idle client connection may sit before the server closes it (default 28800). */
  waitTimeoutS?: number;
}

/**
 * mariadbd with a throw-away data directory (its name ends in .tmp: left out of the run's
 * artifacts) and grants skipped: any user connects. The error log is the server's own account
 * of each closed connection ("Got timeout reading communication packets" = wait_timeout; "Got an
 * error reading communication packets" = the client's side went away).
 */
export async function startMariaDb(backend: Backend, host: string, port: number, o: MariaDbOptions, logFile: string): Promise<void> {
  const dir = join(backend.workDir, `mariadb-${host}.tmp`);
  // A temp directory of its own: at start mariadbd deletes every '#sql…' file in its tmpdir, and
  // in a shared /tmp that was another lab's install in progress (measured: two netns labs side by
  // side, "Error on delete of '/tmp/#sql-temptable-…'", the install aborted).
  const tmp = join(backend.workDir, `mariadb-${host}-tmpdir.tmp`);
  await mkdir(tmp, { recursive: true, mode: 0o777 });
  const small = ['--innodb-buffer-pool-size=16M', '--innodb-log-file-size=4M', `--tmpdir=${tmp}`];
  return startRealServer(
    backend,
    host,
    {
      name: 'mariadbd',
      binaries: ['mariadbd', 'mariadb-install-db', 'mariadb-admin'],
      packages: ['mariadb-server'],
      prepare: ['mariadb-install-db', '--no-defaults', '--user=root', `--datadir=${dir}`, '--skip-test-db', ...small],
      argv: (p) => [
        p['mariadbd']!, '--no-defaults', '--user=root', `--datadir=${dir}`, `--socket=${dir}/mariadb.sock`, `--port=${port}`, '--bind-address=0.0.0.0',
        '--skip-grant-tables', '--skip-name-resolve', '--skip-log-bin', `--log-error=${logFile}`, '--log-warnings=2', `--wait-timeout=${o.waitTimeoutS ?? 28800}`, ...small,
      ],
      ready: ['mariadb-admin', '--no-defaults', `--socket=${dir}/mariadb.sock`, 'ping'],
    },
    `${logFile}.stdout`,
  );
}

export interface MemcachedOptions {
  /** Seconds an idle client connection may sit before memcached closes it (default: never). */
  idleTimeoutS?: number;
}

/** memcached; its `stats` count idle_kicks: the connections it closed for idleness itself. */
export function startMemcached(backend: Backend, host: string, port: number, o: MemcachedOptions, logFile: string): Promise<void> {
  return startRealServer(
    backend,
    host,
    {
      name: 'memcached',
      binaries: ['memcached'],
      packages: ['memcached'],
      argv: (p) => [p['memcached']!, '-u', 'root', '-l', '0.0.0.0', '-p', String(port), '-U', '0', '-v', ...(o.idleTimeoutS ? ['-o', `idle_timeout=${o.idleTimeoutS}`] : [])],
      ready: ['bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`],
    },
    logFile,
  );
}
