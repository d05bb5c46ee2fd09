/**
 * Shared settings of the fuzzers: a fixed seed and a bounded number of runs in `npm test`, so a failure is
 * reproducible and the suite stays fast; `FUZZ_RUNS=10000 npx vitest run test/fuzz` runs each property that many
 * times (and `FUZZ_SEED` picks another seed) for a longer hunt.
 */
import type { Parameters as FastCheckParameters } from 'fast-check';

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_201);

/** fast-check parameters: `defaultRuns` runs, or `FUZZ_RUNS` when set. */
export function fuzzParameters<T>(defaultRuns: number): FastCheckParameters<T> {
  const runs = Number(process.env.FUZZ_RUNS ?? defaultRuns);
  return { seed: SEED, numRuns: Number.isInteger(runs) && runs > 0 ? runs : defaultRuns, endOnFailure: true };
}

/** A vitest timeout that grows with the number of runs of a longer hunt. */
export function fuzzTimeout(defaultRuns: number, msPerRun: number): number {
  const runs = Number(process.env.FUZZ_RUNS ?? defaultRuns);
  return 30_000 + (Number.isInteger(runs) && runs > 0 ? runs : defaultRuns) * msPerRun;
}
