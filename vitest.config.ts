import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Vitest's default (cores - 1) runs the files one by one on a 2-core machine, while most of our slow files
    // wait on child processes, servers, Redis or a browser rather than on the CPU: two at a time halves the wait.
    maxWorkers: Math.max(2, availableParallelism()),
  },
});
