/**
 * What a pool has done, counted: the counters scrapy-zyte-api keeps per session pool (`init/check-passed`,
 * `init/failed`, `use/check-passed`, `use/check-failed`, `use/failed`, …) and Crawlee's session counts. These are
 * tallies of things that happened (inits, outcomes, retirements), never a copy of a session's state, which stays
 * in its machine.
 */
import type { RetirementReason } from '../machines/session.machine.js';

/** The counters, named as scrapy-zyte-api names its session stats. */
export interface PoolCounters {
  /** `initSession` ran and the session was ready. */
  'init/check-passed': number;
  /** `initSession` threw or returned false: the session retired (`initFailed`). */
  'init/failed': number;
  /** A response passed classification and `sessionChecker`: the use ended good. */
  'use/check-passed': number;
  /** A response failed `sessionChecker`. */
  'use/check-failed': number;
  /** A request failed: a network error, a timeout, a 5xx not ignored. */
  'use/failed': number;
  /** A response with a blocked status code: the session retired or cooled down. */
  'use/blocked': number;
  /** A session reached `maxAgeSecs` or `maxUsageCount` and retired. */
  'use/expired': number;
}

/** `pool.stats()`: the counters, sessions by where they stand, and reserved uses by how they ended. */
export interface PoolStats extends PoolCounters {
  sessions: {
    /** Created over the pool's life (restored runs included). */
    created: number;
    /** Retired over the pool's life (restored runs included). */
    retired: number;
    /** Live now. */
    live: number;
    /** Usable now (Crawlee's `usableSessionsCount`). */
    usable: number;
    /** Retired since this pool object opened, by reason. */
    retiredByReason: Partial<Record<RetirementReason, number>>;
  };
  uses: {
    /** Reserved by requests in flight now. */
    reserved: number;
    /** Released since the pool opened, by outcome. */
    good: number;
    bad: number;
    aborted: number;
    unused: number;
  };
}

export type CounterName = keyof PoolCounters;
export type UseOutcomeName = 'good' | 'bad' | 'aborted' | 'unused';

/** The tallies behind `pool.stats()`. */
export class PoolTally {
  readonly counters: PoolCounters = {
    'init/check-passed': 0,
    'init/failed': 0,
    'use/check-passed': 0,
    'use/check-failed': 0,
    'use/failed': 0,
    'use/blocked': 0,
    'use/expired': 0,
  };
  readonly uses: Record<UseOutcomeName, number> = { good: 0, bad: 0, aborted: 0, unused: 0 };
  readonly retiredByReason: Partial<Record<RetirementReason, number>> = {};

  count(name: CounterName): void {
    this.counters[name] += 1;
  }

  use(outcome: UseOutcomeName): void {
    this.uses[outcome] += 1;
  }

  retired(reason: RetirementReason): void {
    this.retiredByReason[reason] = (this.retiredByReason[reason] ?? 0) + 1;
    if (reason === 'expired' || reason === 'maxUsageCount') this.counters['use/expired'] += 1;
  }
}
