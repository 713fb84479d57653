import { defineConfig } from 'vitest/config';
import { LongListsFirst } from './test/support/long-lists-first.js';

const common = {
  testTimeout: 120_000,
  hookTimeout: 180_000,
  retry: 0, // a flaky reproduction is a bug, never retried to green
};

export default defineConfig({
  test: {
    // The leak watch (test/support/leak-watch-setup.ts): tcpdump on the host's own interfaces
    // around the whole run, judged by test/safety/leak.test.ts after everything else.
    globalSetup: ['test/support/leak-watch-setup.ts'],
    sequence: { sequencer: LongListsFirst },
    reporters: ['verbose'],
    projects: [
      // Fast, first: nothing of theirs competes with a lab for the CPU.
      { test: { ...common, name: 'unit', include: ['test/unit/**/*.test.ts'], sequence: { groupOrder: 0 } } },
      {
        test: {
          ...common,
          name: 'scenarios',
          include: ['test/scenarios/**/*.test.ts'],
          // Files side by side: each phase run asks the machine's scheduler (src/scheduler/) for
          // room before its lab starts, so the files share one CPU budget instead of running
          // one after another. A test may wait in that queue: its timeout is a hang guard only.
          // Six: the four long lists (the scenario suite and the --istio suite, each per backend),
          // honesty and the upgrade check start together, so the scheduler always has runs of
          // every kind to pack; with four, the --istio suite's docker half ran alone at the end.
          fileParallelism: true,
          maxWorkers: 6,
          testTimeout: 900_000,
          hookTimeout: 900_000,
          sequence: { groupOrder: 1 },
        },
      },
      // After every other test: the capture must cover all of them.
      { test: { ...common, name: 'leak', include: ['test/safety/**/*.test.ts'], sequence: { groupOrder: 2 } } },
    ],
  },
});
