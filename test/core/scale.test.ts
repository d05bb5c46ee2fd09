import { describe, expect, it } from 'vitest';
import { openTestPool } from './helpers.js';

// Counts, not times: the speed of these operations is measured by `npm run bench`.
describe('a pool of 100,000 sessions', () => {
  it('is created, churned and kept at size with one retirement event per retired session', async () => {
    const { pool, retired } = await openTestPool({ maxPoolSize: 100_000 });
    const batch = await pool.addSessions(95_000);
    expect(new Set(batch.map((session) => session.id)).size).toBe(95_000);
    for (let n = 0; n < 5_000; n += 1) await pool.getSession();
    expect(pool.sessionsCount).toBe(100_000);
    await expect(pool.addSessions(1)).rejects.toMatchObject({ code: 'ERR_POOL_FULL' });
    const { shardIds, shardCapacity } = pool.actor.getSnapshot().context;
    const shards = shardIds.length;
    expect(shards).toBe(Math.ceil(100_000 / shardCapacity));

    for (let n = 0; n < 20_000; n += 1) {
      const session = await pool.getSession();
      if (n % 2 === 0) session.retire();
      else session.markBad();
    }
    expect(pool.sessionsCount).toBeLessThanOrEqual(100_000);
    expect(pool.retiredSessionsCount).toBe(retired.length);
    expect(retired.length).toBeGreaterThanOrEqual(10_000);
    expect(new Set(retired.map((event) => event.session.id)).size).toBe(retired.length);
    expect(pool.actor.getSnapshot().context.createdCount - retired.length).toBe(pool.sessionsCount);
    // Retirements free slots in existing shards: churn does not grow the tree.
    expect(pool.actor.getSnapshot().context.shardIds.length).toBe(shards);
    await pool.teardown();
  }, 120_000);
});
