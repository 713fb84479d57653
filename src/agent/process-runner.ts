/**
 * The agent as a host's process runner: on the docker backend each lab container's main process
 * is an agent, and the harness starts and runs the host's other processes (the role agents,
 * redis-server, iptables, ss) through it instead of through `docker exec`. Measured on the 2-core
 * machine: one `docker exec` costs dockerd, containerd and runc about 70 ms of CPU and 50 ms of
 * wall time; a fork here costs a few. Processes it starts get the container's environment (as an
 * exec's did) with HOME=/tmp, and die with it.
 *
 * A spawned process is known by the harness's number `p`: its stdout comes back as `proc.out`
 * events when piped, its end as one `proc.exit` event.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import type { Commands, Emit } from './protocol.js';

interface Identity {
  uid?: number;
  gid?: number;
  env?: Record<string, string>;
}

const children = new Map<number, ChildProcess>();

const options = (o: Identity) => ({
  uid: o.uid,
  gid: o.uid === undefined ? undefined : (o.gid ?? o.uid),
  env: { ...process.env, HOME: '/tmp', ...o.env },
});

export const processRunnerCommands: Commands = {
  /** Runs a command to completion: its output and exit code (127 when it cannot start, as a shell says). */
  'proc.exec': ({ argv, input, ...who }: Identity & { argv: string[]; input?: string }) =>
    new Promise((resolve) => {
      const child = spawn(argv[0]!, argv.slice(1), { ...options(who), stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.stdin?.on('error', () => {}).end(input);
      child.on('error', (err) => resolve({ stdout, stderr: `${stderr}${err.message}\n`, exitCode: 127 }));
      child.on('close', (code, signal) => resolve({ stdout, stderr, exitCode: code ?? (signal ? 128 : -1) }));
    }),

  /** Starts a long-running process: stdout and stderr appended to `logFile`, or stdout piped back. */
  'proc.spawn': ({ p, argv, logFile, pipes, ...who }: Identity & { p: number; argv: string[]; logFile?: string; pipes?: boolean }, emit: Emit) => {
    const log = logFile ? openSync(logFile, 'a') : 'ignore';
    const child = spawn(argv[0]!, argv.slice(1), { ...options(who), stdio: [pipes ? 'pipe' : 'ignore', pipes ? 'pipe' : log, log] });
    if (typeof log === 'number') closeSync(log); // the child has its own copy
    children.set(p, child);
    child.stdout?.setEncoding('utf8').on('data', (data: string) => emit('proc.out', { p, data }));
    child.stdin?.on('error', () => {}); // a child gone before its input: its exit says so
    let ended = false;
    const exit = (exitCode: number | null, signal: string | null) => {
      if (ended) return;
      ended = true;
      children.delete(p);
      emit('proc.exit', { p, exitCode, signal });
    };
    child.on('error', (err) => (console.error(`proc.spawn ${argv[0]}: ${err.message}`), exit(127, null)));
    child.on('close', exit);
    return { pid: child.pid ?? null };
  },

  'proc.input': ({ p, data, end }: { p: number; data?: string; end?: boolean }) => {
    const stdin = children.get(p)?.stdin;
    if (data) stdin?.write(data);
    if (end) stdin?.end();
    return null;
  },

  'proc.kill': ({ p, signal }: { p: number; signal?: NodeJS.Signals }) => {
    children.get(p)?.kill(signal ?? 'SIGTERM');
    return null;
  },
};
