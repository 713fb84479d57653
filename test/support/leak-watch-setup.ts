/**
 * vitest's global set-up: the leak watch around the whole suite. It empties the validation cache
 * (every validation of this run happens under the capture, as on a fresh machine) and starts
 * tcpdump on the host's own interfaces; test/safety/leak.test.ts runs after every other test
 * (its project's groupOrder) and judges what was caught. Teardown stops any tcpdump still running.
 *   LEAK_WATCH=0   no capture (the leak test then says it has nothing to judge)
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { hasCommand } from '../../src/backends/capabilities.js';
import { RUNS_DIR, VALIDATED_DIR } from '../../src/paths.js';
import { startHostCapture, stopHostCapture, type HostCapture } from '../../src/safety/host-capture.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The capture under way, or why there is none. */
    leakWatch: { capture?: HostCapture; off?: string };
  }
}

/** File filters or --project on the command line that leave the leak test out: a partial run is not watched. */
const partialRun = () => {
  const args = process.argv.slice(2);
  const projects = args.flatMap((a, i) => (a === '--project' ? [args[i + 1] ?? ''] : a.startsWith('--project=') ? [a.slice(10)] : []));
  if (projects.length && !projects.includes('leak')) return true;
  return args.some((a, i) => !a.startsWith('-') && a !== 'run' && args[i - 1] !== '--project' && !/safety|leak/.test(a));
};

export default async function setup(project: TestProject) {
  const off =
    process.env.LEAK_WATCH === '0' ? 'LEAK_WATCH=0'
    : partialRun() ? 'a partial run (file filters given)'
    : process.getuid?.() !== 0 ? 'not root: tcpdump cannot capture'
    : !hasCommand('tcpdump') ? 'tcpdump is not installed (apt-get install -y tcpdump)'
    : undefined;
  if (off) {
    project.provide('leakWatch', { off });
    return;
  }
  await rm(VALIDATED_DIR, { recursive: true, force: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').replace(/Z$/, '');
  const capture = await startHostCapture(join(RUNS_DIR, `${stamp}-leak-watch`));
  console.log(`leak watch: validation cache emptied; tcpdump on ${capture.tcpdumps.map((t) => t.interface).join(', ')} (${capture.dir})`);
  project.provide('leakWatch', { capture });
  return async () => {
    await stopHostCapture(capture);
  };
}
