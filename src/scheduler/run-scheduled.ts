/**
 * Runs a list of phase runs the way the machine holds them best, returning results in the list's
 * order (so a packed run reports exactly like a serial one):
 * - the ones that need the machine alone first, while it is quiet;
 * - then the longest first (their wall time on earlier runs here), so the short ones fill the gaps
 *   at the end instead of a long one starting last;
 * - as many at once as the machine's budget holds of the common load (`parallel` overrides: the
 *   caller's count, each run counted by number, not by cores).
 * Each run still asks the machine's scheduler (machine-slots.ts) before its lab starts, so
 * several of these side by side (vitest workers, a matrix next to a scenario run) share one budget.
 */
import { runPool } from '../util/pool.js';
import { defaultParallelism } from './machine-slots.js';
import { COMMON_CORES, loadRequest, type PhaseLoad } from './phase-load.js';

export interface ScheduledRun {
  backend: 'netns' | 'docker';
  scenario: string;
  phase: string;
  load?: PhaseLoad;
}

export interface Schedule {
  /** Runs at once within this list (the machine's scheduler still has the last word). */
  width: number;
  /** Whether the caller fixed the count (--parallel N). */
  forced: boolean;
}

/** How many at once: the caller's count, else what the machine's budget holds of the common load. */
export function scheduleFor(parallel: number | undefined, backends: Iterable<'netns' | 'docker'>): Schedule {
  if (parallel !== undefined) return { width: parallel, forced: true };
  const heaviest = Math.max(...[...backends].map((b) => COMMON_CORES[b]), COMMON_CORES.netns);
  return { width: defaultParallelism(heaviest), forced: false };
}

/** No list keeps more than this many runs queued for the machine: lists side by side (vitest files) take turns. */
const MAX_WIDTH = 8;

export async function runScheduled<T extends ScheduledRun, R>(runs: readonly T[], parallel: number | undefined, fn: (run: T, schedule: Schedule) => Promise<R>): Promise<R[]> {
  const requests = await Promise.all(runs.map((r) => loadRequest({ backend: r.backend, scenario: r.scenario, phase: r.phase, declared: r.load })));
  // Measured loads may be lighter than the common one: the list is as wide as the lightest run
  // allows; the machine's scheduler admits each run by its own cores.
  const schedule = parallel !== undefined ? scheduleFor(parallel, []) : { width: Math.min(MAX_WIDTH, Math.max(scheduleFor(undefined, runs.map((r) => r.backend)).width, defaultParallelism(Math.min(...requests.map((r) => r.cores))))), forced: false };
  const order = runs
    .map((_, i) => i)
    .sort((a, b) => Number(requests[b]!.alone) - Number(requests[a]!.alone) || (requests[b]!.wallMs ?? 0) - (requests[a]!.wallMs ?? 0) || a - b);
  const results = new Array<R>(runs.length);
  await runPool(order, schedule.width, async (i) => {
    results[i] = await fn(runs[i]!, schedule);
  });
  return results;
}
