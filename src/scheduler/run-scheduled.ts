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
import { COMMON_CORES, loadRequest, type LoadRequest, type PhaseLoad } from './phase-load.js';

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
  /** runPhase's teardownInBackground: the list waits for every lab's removal before it returns. */
  background?: (gone: Promise<void>) => void;
}

/** How many at once: the caller's count, else what the machine's budget holds of the common load. */
export function scheduleFor(parallel: number | undefined, backends: Iterable<'netns' | 'docker'>): Schedule {
  if (parallel !== undefined) return { width: parallel, forced: true };
  const heaviest = Math.max(...[...backends].map((b) => COMMON_CORES[b]), COMMON_CORES.netns);
  return { width: defaultParallelism(heaviest), forced: false };
}

/** No list keeps more than this many runs queued for the machine: lists side by side (vitest files) take turns. */
const MAX_WIDTH = 8;

const requestsOf = (runs: readonly ScheduledRun[]) => Promise.all(runs.map((r) => loadRequest({ backend: r.backend, scenario: r.scenario, phase: r.phase, declared: r.load })));

/**
 * The schedule of a list: --parallel's count, else as wide as the lightest run allows (measured
 * loads may be lighter than the common one), at most MAX_WIDTH and never wider than the list;
 * the machine's scheduler then admits each run by its own cores.
 */
export async function scheduleForRuns(runs: readonly ScheduledRun[], parallel?: number, requests?: LoadRequest[]): Promise<Schedule> {
  if (parallel !== undefined) return scheduleFor(parallel, []);
  requests ??= await requestsOf(runs);
  const common = scheduleFor(undefined, runs.map((r) => r.backend)).width;
  const width = Math.min(MAX_WIDTH, Math.max(common, defaultParallelism(Math.min(...requests.map((r) => r.cores)))));
  return { width: Math.max(1, Math.min(width, runs.length)), forced: false };
}

export async function runScheduled<T extends ScheduledRun, R>(runs: readonly T[], parallel: number | undefined, fn: (run: T, schedule: Schedule) => Promise<R>): Promise<R[]> {
  const requests = await requestsOf(runs);
  const schedule = await scheduleForRuns(runs, parallel, requests);
  const order = runs
    .map((_, i) => i)
    .sort((a, b) => Number(requests[b]!.alone) - Number(requests[a]!.alone) || (requests[b]!.wallMs ?? 0) - (requests[a]!.wallMs ?? 0) || a - b);
  const results = new Array<R>(runs.length);
  const removals: Promise<void>[] = [];
  const withBackground = { ...schedule, background: (gone: Promise<void>) => void removals.push(gone.catch(() => {})) };
  try {
    await runPool(order, schedule.width, async (i) => {
      results[i] = await fn(runs[i]!, withBackground);
    });
  } finally {
    // Nothing of this list's labs outlives it.
    await Promise.all(removals);
  }
  return results;
}
