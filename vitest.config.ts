import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Crash tests spawn child processes; generous bounds, never timing assertions.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
