/**
 * What a run killed without warning (kill -9, an OOM kill, a CI runner cancelling the job) leaves
 * is removed without waiting for the next run: the first lab a process claims starts a watcher, a
 * small shell loop outside the process, in its own session, that waits for the process to die and
 * then runs `lab clean` (which removes only the labs whose owner is dead). The same idea as
 * testcontainers' reaper (Ryuk), without a container: it must work on both backends.
 */
import { spawn } from 'node:child_process';
import { LAB_CLEAN_COMMAND } from '../paths.js';

let watching = false;

/** Starts this process's watcher, once. */
export function watchOwner(): void {
  if (watching || process.env.EFL_NO_OWNER_WATCH === '1') return;
  watching = true;
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  // Polls twice a second: `kill -0` of a dead pid fails, and the sweep starts at most 0.5 s after.
  const script = `while kill -0 ${process.pid} 2>/dev/null; do sleep 0.5; done; exec ${LAB_CLEAN_COMMAND.map(quote).join(' ')}`;
  const child = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore', cwd: '/', env: { ...process.env, EFL_NO_OWNER_WATCH: '1' } });
  child.on('error', () => {});
  child.unref();
}
