import { describe, expect, it } from 'vitest';
import { usePoolPerTest } from './helpers.js';

const open = usePoolPerTest();

describe('session lifecycle', () => {
  it('walks fresh → active → degraded → active → blocked → retired by marks alone', async () => {
    const { pool, retired } = await open({ sessionOptions: { maxErrorScore: 2, errorScoreDecrement: 0.5 } });
    const states: string[] = [];
    pool.on('sessionStateChanged', ({ state }) => states.push(state));
    const session = await pool.getSession();
    expect(session.state).toBe('fresh');

    session.markGood();
    expect(session.state).toBe('active');
    session.markBad();
    expect([session.state, session.errorScore]).toEqual(['degraded', 1]);
    session.markGood();
    expect([session.state, session.errorScore]).toEqual(['degraded', 0.5]);
    session.markGood();
    expect([session.state, session.errorScore]).toEqual(['active', 0]);
    session.markBad();
    session.markBad();
    expect(session.state).toBe('retired');
    expect(session.isBlocked()).toBe(true);
    expect(states).toEqual(['active', 'degraded', 'active', 'degraded', 'blocked', 'retired']);
    expect(retired.map((event) => [event.session.id, event.reason])).toEqual([[session.id, 'blocked']]);
    expect(retired[0]?.state).toMatchObject({ state: 'retired', errorScore: 2, usageCount: 6 });
  });

  it('keeps score arithmetic like Crawlee: +1 per bad, −decrement per good, never below zero', async () => {
    const { pool } = await open({ sessionOptions: { maxErrorScore: 10, errorScoreDecrement: 0.25 } });
    const session = await pool.getSession();
    session.markGood();
    session.markGood();
    expect(session.errorScore).toBe(0);
    session.markBad();
    session.markBad();
    session.markBad();
    session.markGood();
    expect(session.errorScore).toBe(2.75);
    expect(session.usageCount).toBe(6);
  });

  it('expires at maxUsageCount and reports maxUsageCount', async () => {
    const { pool, retired } = await open({ sessionOptions: { maxUsageCount: 3 } });
    const session = await pool.getSession();
    session.markGood();
    session.markBad();
    expect(session.isUsable()).toBe(true);
    session.markGood();
    expect(session.state).toBe('retired');
    expect(session.isMaxUsageCountReached()).toBe(true);
    expect(retired.map((event) => event.reason)).toEqual(['maxUsageCount']);
  });

  it('expires on its own timer when maxAgeSecs passes, untouched, and the pool hears of it', async () => {
    const { pool, clock, retired } = await open({ sessionOptions: { maxAgeSecs: 60 } });
    const session = await pool.getSession();
    clock.increment(59_999);
    expect(session.state).toBe('fresh');
    expect(retired).toHaveLength(0);
    clock.increment(1);
    expect(session.state).toBe('retired');
    expect(session.isExpired()).toBe(true);
    expect(retired.map((event) => [event.session.id, event.reason])).toEqual([[session.id, 'expired']]);
    expect(pool.sessionsCount).toBe(0);
  });

  it('stores absolute deadlines in context', async () => {
    const { pool, clock } = await open({ sessionOptions: { maxAgeSecs: 120 } });
    const session = await pool.getSession();
    expect(session.createdAt.getTime()).toBe(clock.now());
    expect(session.expiresAt.getTime()).toBe(clock.now() + 120_000);
  });

  it('retires on the default blocked status codes 401, 403 and 429 only', async () => {
    const { pool, retired } = await open();
    const session = await pool.getSession();
    for (const code of [200, 301, 404, 500, 503]) {
      expect(session.retireOnBlockedStatusCodes(code)).toBe(false);
    }
    expect(session.isUsable()).toBe(true);
    for (const code of [401, 403, 429]) {
      const fresh = await pool.addSession();
      expect(fresh.retireOnBlockedStatusCodes(code)).toBe(true);
      expect(fresh.state).toBe('retired');
    }
    expect(retired.map((event) => [event.reason, event.state.blockedStatusCode])).toEqual([
      ['blockedStatusCode', 401],
      ['blockedStatusCode', 403],
      ['blockedStatusCode', 429],
    ]);
  });

  it('honours custom blockedStatusCodes and additional codes per call', async () => {
    const { pool } = await open({ blockedStatusCodes: [418] });
    const session = await pool.getSession();
    expect(session.retireOnBlockedStatusCodes(403)).toBe(false);
    expect(session.retireOnBlockedStatusCodes(503, [503])).toBe(true);
    const other = await pool.addSession();
    expect(other.retireOnBlockedStatusCodes(418)).toBe(true);
  });

  it('retire() is idempotent and later marks neither resurrect nor re-announce', async () => {
    const { pool, retired } = await open();
    const session = await pool.getSession();
    session.markGood();
    session.retire();
    session.retire();
    session.markGood();
    session.markBad();
    expect(session.retireOnBlockedStatusCodes(403)).toBe(false);
    expect(session.state).toBe('retired');
    expect(session.usageCount).toBe(1);
    expect(retired.map((event) => event.reason)).toEqual(['manual']);
    expect(await pool.getSession(session.id)).toBeUndefined();
  });

  it('cools down in blocked, is not handed out meanwhile, and comes back active', async () => {
    const { pool, clock, retired } = await open({ maxPoolSize: 2 });
    const cooling = await pool.getSession();
    const other = await pool.getSession();
    cooling.markBad();
    cooling.coolDown(clock.now() + 30_000);
    expect(cooling.state).toBe('blocked');
    expect(cooling.isUsable()).toBe(false);
    expect(pool.usableSessionsCount).toBe(1);
    for (let draw = 0; draw < 20; draw += 1) expect((await pool.getSession()).id).toBe(other.id);
    clock.increment(30_000);
    expect(cooling.state).toBe('degraded');
    expect(cooling.blockedUntil).toBeNull();
    expect(retired).toHaveLength(0);
  });

  it('still expires while cooling down', async () => {
    const { pool, clock, retired } = await open({ sessionOptions: { maxAgeSecs: 10 } });
    const session = await pool.getSession();
    session.coolDown(clock.now() + 60_000);
    clock.increment(10_000);
    expect(session.state).toBe('retired');
    expect(retired.map((event) => event.reason)).toEqual(['expired']);
  });

  it('a blocked status code during a cool-down retires the session', async () => {
    const { pool, clock, retired } = await open();
    const session = await pool.getSession();
    session.coolDown(clock.now() + 60_000);
    expect(session.retireOnBlockedStatusCodes(403)).toBe(true);
    expect(retired.map((event) => event.reason)).toEqual(['blockedStatusCode']);
  });
});
