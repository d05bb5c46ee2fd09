/**
 * The library under test. The runner compiles it with `tsc` (what users run) and passes the build's entry point
 * in `BENCH_LIB`; without it (the quick smoke pass, or `--source`) the TypeScript source runs through tsx, whose
 * transform costs ours some 25% on the hot path, so source numbers understate us.
 */
import type * as Library from '../../src/index.js';

const entry = process.env.BENCH_LIB;
const library: typeof Library = entry ? await import(entry) : await import('../../src/index.js');

export const { SessionPool, sessionMachine } = library;
// The test site is the workload, not what is measured: it always runs from source.
export { NO_FAULTS, startTestSite } from '../../src/testing/index.js';
export type SessionPool = Library.SessionPool;
