import { describe, expect, it } from 'vitest';
import { openTestPool } from './helpers.js';

/**
 * 10,000 sessions by default, so `npm test` stays quick; CI also runs it at 100,000
 * (`SCALE_SESSIONS=100000 npx vitest run test/core/scale.test.ts`, in .ci/run). The checks are the same at any size.
 */
const SESSIONS = Number(process.env.SCALE_SESSIONS ?? 10_000);
if (!Number.isInteger(SESSIONS) || SESSIONS < 1_000) {
  throw new Error(
    `SCALE_SESSIONS must be a whole number of at least 1000, got "${process.env.SCALE_SESSIONS}"`,
  );
}
const BATCH = Math.round(SESSIONS * 0.95);
const CHURN = SESSIONS / 5;

// Counts, not times: the speed of these operations is measured by `npm run bench`.
describe(`a pool of ${SESSIONS.toLocaleString('en-US')} sessions`, () => {
  it('is created, churned and kept at size with one retirement event per retired session', async () => {
    const { pool, retired } = await openTestPool({ maxPoolSize: SESSIONS });
    const batch = await pool.addSessions(BATCH);
    expect(new Set(batch.map((session) => session.id)).size).toBe(BATCH);
    for (let n = BATCH; n < SESSIONS; n += 1) await pool.getSession();
    expect(pool.sessionsCount).toBe(SESSIONS);
    await expect(pool.addSessions(1)).rejects.toMatchObject({ code: 'ERR_POOL_FULL' });
    const { shardIds, shardCapacity } = pool.actor.getSnapshot().context;
    const shards = shardIds.length;
    expect(shards).toBe(Math.ceil(SESSIONS / shardCapacity));

    for (let n = 0; n < CHURN; n += 1) {
      const session = await pool.getSession();
      if (n % 2 === 0) session.retire();
      else session.markBad();
    }
    expect(pool.sessionsCount).toBeLessThanOrEqual(SESSIONS);
    expect(pool.retiredSessionsCount).toBe(retired.length);
    expect(retired.length).toBeGreaterThanOrEqual(CHURN / 2);
    expect(new Set(retired.map((event) => event.session.id)).size).toBe(retired.length);
    expect(pool.actor.getSnapshot().context.createdCount - retired.length).toBe(pool.sessionsCount);
    // Retirements free slots in existing shards: churn does not grow the tree.
    expect(pool.actor.getSnapshot().context.shardIds.length).toBe(shards);
    await pool.teardown();
  }, 120_000);
});
