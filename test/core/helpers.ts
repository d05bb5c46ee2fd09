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
