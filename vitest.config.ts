import { availableParallelism } from 'node:os';
import { relative } from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The slowest files, slowest first (measured on a 2-core machine): started first, they run beside the many short
 * files instead of being the last thing the run waits for. A CI clone has no timing cache, so vitest alone would
 * order by file size. Files not listed keep vitest's order (cached durations, else size).
 */
const SLOW_FIRST = [
  'test/redis/fleet-workers.test.ts',
  'test/readme.test.ts',
  'test/dashboard.test.ts',
  'test/integrations/playwright.test.ts',
  'test/integrations/crawlee.test.ts',
  'test/visualizations.test.ts',
  'test/cli.test.ts',
  'test/inspect.test.ts',
];

class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (file: TestSpecification) => {
      const index = SLOW_FIRST.indexOf(
        relative(file.project.config.root, file.moduleId).split('\\').join('/'),
      );
      return index === -1 ? SLOW_FIRST.length : index;
    };
    // Array.prototype.sort is stable: the unlisted files keep vitest's order among themselves.
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Compiles the repository once for the child processes tests start (test/compiled.ts).
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Vitest's default (cores - 1) runs the files one by one on a 2-core machine, while most of our slow files
    // wait on child processes, servers, Redis or a browser rather than on the CPU: two at a time halves the wait.
    // Not more: the slow files also start processes of their own (README blocks, fleet workers, Chromium), and a
    // third file at once left timing-sensitive files starved on two cores.
    maxWorkers: Math.max(2, availableParallelism()),
    // Files share their worker's loaded modules (undici, xstate, Crawlee, our sources) instead of loading them
    // again for each of the 50-odd files: about a second of CPU per file. The tests keep no state in modules;
    // each file opens and closes its own pools, servers and processes.
    isolate: false,
    sequence: { sequencer: SlowFirstSequencer },
  },
});
