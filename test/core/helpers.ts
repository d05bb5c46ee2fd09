import { afterEach } from 'vitest';
import { SimulatedClock } from 'xstate';
import { SessionPool, type SessionPoolOptions, type SessionRetiredEvent } from '../../src/index.js';

/** A pool on a simulated clock starting at a fixed date, with a log of every retirement. */
export async function openTestPool(options: SessionPoolOptions<SessionPool> = {}) {
  const clock = new SimulatedClock();
  clock.set(Date.UTC(2026, 0, 1));
  const pool = await SessionPool.open({ clock, ...options });
  const retired: SessionRetiredEvent[] = [];
  pool.on('sessionRetired', (event) => retired.push(event));
  return { pool, clock, retired };
}

/**
 * Registers an `afterEach` that tears down the pool opened by the returned `open` (one per test), so a failing
 * assertion never leaks live actors into the next test.
 */
export function usePoolPerTest() {
  let current: SessionPool | undefined;
  afterEach(async () => {
    await current?.teardown();
    current = undefined;
  });
  return async (options: SessionPoolOptions<SessionPool> = {}) => {
    const opened = await openTestPool(options);
    current = opened.pool;
    return opened;
  };
}
