import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Scenario phases run real Envoy in real namespaces on a 2-core machine: one file at a time.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    retry: 0, // a flaky reproduction is a bug, never retried to green
    reporters: ['verbose'],
  },
});
