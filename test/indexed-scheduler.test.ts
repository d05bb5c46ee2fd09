import { afterEach, describe, expect, it } from 'vitest';
import type { SessionPool } from '../src/index.js';
import { openTestPool } from './core/helpers.js';

/** Delayed events XState still holds for the pool's actor system. */
function scheduledEventCount(pool: SessionPool): number {
  return Object.keys(pool.actor.system.getSnapshot()._scheduledEvents).length;
}

describe('delayed events indexed by actor (indexScheduledEvents)', () => {
  let pool: SessionPool | undefined;
  afterEach(async () => {
    await pool?.teardown();
    pool = undefined;
  });

  it('still expires sessions at maxAgeSecs on the pool clock', async () => {
    const opened = await openTestPool({ maxPoolSize: 3, sessionOptions: { maxAgeSecs: 60 } });
    pool = opened.pool;
    for (let i = 0; i < 3; i += 1) await pool.getSession();
    opened.clock.increment(59_000);
    expect(opened.retired).toHaveLength(0);
    opened.clock.increment(1_000);
    expect(opened.retired.map((event) => event.reason)).toEqual(['expired', 'expired', 'expired']);
    expect(scheduledEventCount(pool)).toBe(0);
  });

  it("cancels exactly the retired session's timers and keeps the others", async () => {
    const opened = await openTestPool({ maxPoolSize: 4, sessionOptions: { maxAgeSecs: 60 } });
    pool = opened.pool;
    const sessions = [];
    for (let i = 0; i < 4; i += 1) sessions.push(await pool.getSession());
    expect(scheduledEventCount(pool)).toBe(4);
    sessions[1]!.retire();
    expect(scheduledEventCount(pool)).toBe(3);
    opened.clock.increment(60_000);
    expect(opened.retired.map((event) => [event.session.id, event.reason])).toEqual([
      [sessions[1]!.id, 'manual'],
      [sessions[0]!.id, 'expired'],
      [sessions[2]!.id, 'expired'],
      [sessions[3]!.id, 'expired'],
    ]);
  });

  it('cancels a cool-down timer that was re-armed, and leaves no timer behind after teardown', async () => {
    const opened = await openTestPool({ maxPoolSize: 2 });
    pool = opened.pool;
    const session = await pool.getSession();
    await pool.getSession();
    const now = opened.clock.now();
    session.coolDown(now + 5_000);
    session.coolDown(now + 10_000);
    opened.clock.increment(5_000);
    expect(session.state).toBe('blocked');
    opened.clock.increment(5_000);
    expect(session.state).toBe('active');
    await pool.teardown();
    expect(scheduledEventCount(pool)).toBe(0);
  });
});
