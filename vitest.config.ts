import { defineConfig } from 'vitest/config';

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
    reporters: ['verbose'],
    projects: [
      {
        test: {
          ...common,
          name: 'lab',
          include: ['test/unit/**/*.test.ts', 'test/scenarios/**/*.test.ts'],
          // Scenario phases run real Envoy in real namespaces on a 2-core machine: one file at a time.
          fileParallelism: false,
          sequence: { groupOrder: 0 },
        },
      },
      // After every other test: the capture must cover all of them.
      { test: { ...common, name: 'leak', include: ['test/safety/**/*.test.ts'], sequence: { groupOrder: 1 } } },
    ],
  },
});
