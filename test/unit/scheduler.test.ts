import { describe, expect, it } from 'vitest';
import { admissible, fits } from '../../src/scheduler/machine-slots.js';
import { scheduleFor } from '../../src/scheduler/run-scheduled.js';

const run = (label: string, cores: number, alone = false, forced = false) => ({ id: label, pid: 1, since: 0, label, cores, alone, forced });

describe("the machine's scheduler packs phase runs by the cores they need", () => {
  it('a run fits while the cores in use stay within the budget; an empty machine takes anything', () => {
    expect(fits(run('a', 0.5), [run('b', 0.5), run('c', 0.5)], 1.6)).toBe(true);
    expect(fits(run('a', 0.7), [run('b', 0.5), run('c', 0.5)], 1.6)).toBe(false);
    expect(fits(run('huge', 9), [], 1.6)).toBe(true);
  });
  it("a phase that needs the machine alone runs only on an empty one, and nothing starts beside it, --parallel's forced runs included", () => {
    expect(fits(run('sweep', 0.1, true), [run('b', 0.1)], 1.6)).toBe(false);
    expect(fits(run('sweep', 0.1, true), [], 1.6)).toBe(true);
    expect(fits(run('b', 0.1, false, true), [run('sweep', 0.1, true)], 1.6)).toBe(false);
  });
  it('no more labs start at once than the machine has cores for: a start keeps one busy', () => {
    const netns = { cores: 0.3, ms: 700, coresPerStart: 2 };
    const docker = { cores: 0.3, ms: 700, coresPerStart: 1 };
    const now = 10_000;
    const starting = (label: string, boot = docker) => ({ ...run(label, 0.1), boot, startedAt: now - 100 });
    const started = (label: string, boot = docker) => ({ ...run(label, 0.1), boot, startedAt: now - 5000 });
    // Budget 1.8 on two cores (CPU_SHARE 0.9): two docker starts at once, a third waits although 0.9 cores would fit.
    expect(fits({ ...run('c', 0.1), boot: docker }, [starting('a'), starting('b')], 1.8, now)).toBe(false);
    expect(fits({ ...run('c', 0.1), boot: docker }, [starting('a'), started('b')], 1.8, now)).toBe(true);
    expect(admissible({ running: [], waiting: ['a', 'b', 'c', 'd'].map((l) => ({ ...run(l, 0.1), boot: docker })) }, 1.8, now).map((e) => e.label)).toEqual(['a', 'b']);
    // A start that keeps two cores busy: one at a time on two cores, two on four.
    expect(fits({ ...run('c', 0.1), boot: netns }, [starting('a', netns), started('b', netns)], 1.8, now)).toBe(false);
    expect(fits({ ...run('c', 0.1), boot: netns }, [started('a', netns), started('b', netns)], 1.8, now)).toBe(true);
    expect(admissible({ running: [], waiting: ['a', 'b', 'c'].map((l) => ({ ...run(l, 0.1), boot: netns })) }, 1.8, now).map((e) => e.label)).toEqual(['a']);
    expect(admissible({ running: [], waiting: ['a', 'b', 'c'].map((l) => ({ ...run(l, 0.1), boot: netns })) }, 3.6, now).map((e) => e.label)).toEqual(['a', 'b']);
  });
  it('--parallel N counts runs by number: a forced run ignores the cores', () => {
    expect(fits(run('a', 0.9, false, true), [run('b', 0.9), run('c', 0.9)], 1.6)).toBe(true);
  });
  it('first come first served (alone runs first); a run that fits may overtake one that does not, but never one that needs the machine alone', () => {
    const ledger = (waiting: ReturnType<typeof run>[]) => ({ running: [run('r', 1.0)], waiting });
    expect(admissible(ledger([run('big', 1.0), run('small', 0.4)]), 1.6).map((e) => e.label)).toEqual(['small']);
    expect(admissible(ledger([run('sweep', 0.1, true), run('small', 0.4)]), 1.6).map((e) => e.label)).toEqual([]);
    expect(admissible({ running: [], waiting: [run('a', 0.5), run('b', 0.5), run('c', 0.5), run('d', 0.5)] }, 1.6).map((e) => e.label)).toEqual(['a', 'b', 'c']);
  });
  it('while a run that needs the machine alone waits for a drain, only runs expected to end by then start beside the runs under way', () => {
    const now = 100_000;
    const timed = (label: string, expectedMs: number | undefined, startedAgoMs?: number) => ({ ...run(label, 0.2), expectedMs, ...(startedAgoMs === undefined ? {} : { startedAt: now - startedAgoMs }) });
    const sweep = { ...run('sweep', 0.2, true), expectedMs: 20_000 };
    // Under way: one expected to end in 30 s. A 10-s run backfills; a 40-s one, one of unknown length and a second alone run wait.
    const ledger = { running: [timed('long', 40_000, 10_000)], waiting: [sweep, timed('short', 10_000), timed('longer', 40_000), timed('unknown', undefined), { ...run('sweep-2', 0.2, true), expectedMs: 5000 }] };
    expect(admissible(ledger, 1.8, now).map((e) => e.label)).toEqual(['short']);
    // A run under way of unknown length: nobody knows when the drain ends, so nothing overtakes the alone run.
    expect(admissible({ ...ledger, running: [timed('long', undefined, 10_000)] }, 1.8, now).map((e) => e.label)).toEqual([]);
    // A run past its expected end: the drain is due now, nothing starts beside it.
    expect(admissible({ ...ledger, running: [timed('late', 5000, 10_000)] }, 1.8, now).map((e) => e.label)).toEqual([]);
    // Drained: the alone run starts, and nothing beside it.
    expect(admissible({ running: [], waiting: ledger.waiting }, 1.8, now).map((e) => e.label)).toEqual(['sweep']);
    // Alone runs go first, whenever they arrived: the second starts on the drain the first left, before the runs queued ahead of it.
    expect(admissible({ running: [], waiting: [timed('short', 10_000), timed('longer', 40_000), { ...run('sweep-2', 0.2, true), expectedMs: 5000 }] }, 1.8, now).map((e) => e.label)).toEqual(['sweep-2']);
  });
  it("--parallel N sets the width; without it the width is what the machine's budget holds of the common load", () => {
    expect(scheduleFor(3, ['netns'])).toEqual({ width: 3, forced: true });
    const auto = scheduleFor(undefined, ['netns']);
    expect(auto.forced).toBe(false);
    expect(auto.width).toBeGreaterThanOrEqual(1);
  });
});

describe('a quiet machine for a run that needs it alone', () => {
  it('reads the idle share of the machine from /proc/stat, between 0 and 1', async () => {
    const { idleShare } = await import('../../src/scheduler/quiet-machine.js');
    const idle = await idleShare(200);
    if (idle === undefined) return; // no /proc/stat here: the wait is skipped
    expect(idle).toBeGreaterThanOrEqual(0);
    expect(idle).toBeLessThanOrEqual(1);
  });
});
