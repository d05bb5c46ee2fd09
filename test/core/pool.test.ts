import { describe, expect, it } from 'vitest';
import {
  DuplicateSessionError,
  PoolFullError,
  PoolNotRunningError,
  SessionPool,
  type SessionRetiredEvent,
  UnknownSessionError,
} from '../../src/index.js';
import { usePoolPerTest } from './helpers.js';

const open = usePoolPerTest();

describe('SessionPool', () => {
  it('creates sessions on demand up to maxPoolSize, then reuses them', async () => {
    const { pool } = await open({ maxPoolSize: 5 });
    const ids = new Set<string>();
    for (let call = 0; call < 50; call += 1) ids.add((await pool.getSession()).id);
    expect(ids.size).toBe(5);
    expect(pool.sessionsCount).toBe(5);
    expect(pool.actor.getSnapshot().context.createdCount).toBe(5);
  });

  it('never goes above maxPoolSize under concurrent getSession with an async createSessionFunction', async () => {
    let created = 0;
    const { pool } = await open({
      maxPoolSize: 10,
      createSessionFunction: async (_pool, { sessionOptions }) => {
        created += 1;
        await new Promise((resolve) => setImmediate(resolve));
        return { ...sessionOptions, userData: { n: created } };
      },
    });
    const sessions = await Promise.all(Array.from({ length: 200 }, () => pool.getSession()));
    expect(created).toBe(10);
    expect(pool.sessionsCount).toBe(10);
    expect(new Set(sessions.map((session) => session.id)).size).toBe(10);
  });

  it('passes the merged sessionOptions to createSessionFunction and uses what it returns', async () => {
    const seen: unknown[] = [];
    const { pool } = await open({
      sessionOptions: { maxUsageCount: 7, userData: { site: 'a' } },
      createSessionFunction: (_pool, { sessionOptions }) => {
        seen.push(sessionOptions);
        return { ...sessionOptions, id: `acct-${seen.length}`, maxErrorScore: 1 };
      },
    });
    const session = await pool.getSession();
    expect(seen[0]).toMatchObject({ maxUsageCount: 7, maxAgeSecs: 3000, userData: { site: 'a' } });
    expect(session.id).toBe('acct-1');
    expect([session.maxUsageCount, session.maxErrorScore]).toEqual([7, 1]);
  });

  it('replaces a retired session with a new one on the next getSession', async () => {
    const { pool, retired } = await open({ maxPoolSize: 3 });
    const first = await Promise.all([pool.getSession(), pool.getSession(), pool.getSession()]);
    first[1]?.retire();
    expect(pool.sessionsCount).toBe(2);
    const next = await pool.getSession();
    expect(first.map((session) => session.id)).not.toContain(next.id);
    expect(pool.sessionsCount).toBe(3);
    expect(retired).toHaveLength(1);
    expect(pool.retiredSessionsCount).toBe(1);
  });

  it('emits exactly one sessionRetired per retired session, whatever crawler code does', async () => {
    const { pool, clock, retired } = await open({
      maxPoolSize: 40,
      sessionOptions: { maxUsageCount: 12, maxAgeSecs: 300 },
    });
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    const handed = new Set<string>();
    for (let step = 0; step < 3000; step += 1) {
      const session = await pool.getSession();
      handed.add(session.id);
      const roll = random();
      if (roll < 0.6) session.markGood();
      else if (roll < 0.85) session.markBad();
      else if (roll < 0.9) session.retireOnBlockedStatusCodes(403);
      else if (roll < 0.95) session.retire();
      else clock.increment(10_000);
      // Stale handles keep being poked after retirement.
      if (roll < 0.3) for (const event of retired.slice(-3)) event.session.markBad();
    }
    const ids = retired.map((event) => event.session.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(pool.retiredSessionsCount).toBe(ids.length);
    expect(pool.actor.getSnapshot().context.createdCount).toBe(handed.size);
    expect(handed.size - ids.length).toBe(pool.sessionsCount);
    expect(pool.sessionsCount).toBeLessThanOrEqual(40);
    for (const event of retired) expect(event.session.state).toBe('retired');
  });

  it('getSession(id) returns the live session, and undefined for missing or retired ids', async () => {
    const { pool } = await open();
    const session = await pool.getSession();
    expect(await pool.getSession(session.id)).toBe(session);
    expect(await pool.getSession('no-such-id')).toBeUndefined();
    session.retire();
    expect(await pool.getSession(session.id)).toBeUndefined();
  });

  it('addSession rejects a duplicate id and a full pool with typed errors, keeping what is stored', async () => {
    const { pool } = await open({ maxPoolSize: 2 });
    const kept = await pool.addSession({ id: 'account-1', userData: { login: 'a' } });
    await expect(pool.addSession({ id: 'account-1' })).rejects.toBeInstanceOf(DuplicateSessionError);
    await pool.addSession({ id: 'account-2' });
    await expect(pool.addSession({ id: 'account-3' })).rejects.toMatchObject({
      code: 'ERR_POOL_FULL',
      maxPoolSize: 2,
    });
    await expect(pool.addSession()).rejects.toBeInstanceOf(PoolFullError);
    expect(kept.userData).toEqual({ login: 'a' });
    expect(kept.state).toBe('fresh');
    expect(pool.sessionsCount).toBe(2);
  });

  it('rejects events for unknown or retired ids with a typed error, without looping back into the pool', async () => {
    const { pool } = await open();
    const rejected: string[] = [];
    pool.on('eventRejected', (event) => rejected.push(`${event.sessionId}:${event.eventType}`));
    const session = await pool.getSession();
    pool.send(session.id, { type: 'session.markBad' });
    expect(session.errorScore).toBe(1);
    expect(() => pool.send('ghost', { type: 'session.markGood' })).toThrow(UnknownSessionError);
    session.retire();
    expect(() => pool.retireSession(session.id)).toThrow(UnknownSessionError);

    // Straight to the root actor, bypassing the facade: the machine itself rejects and stays healthy.
    pool.actor.send({ type: 'pool.sendToSession', sessionId: 'ghost', event: { type: 'session.markGood' } });
    pool.actor.send({ type: 'pool.sendToSession', sessionId: session.id, event: { type: 'session.retire' } });
    expect(rejected).toEqual(['ghost:session.markGood', `${session.id}:session.retire`]);
    expect(pool.actor.getSnapshot().status).toBe('active');
    expect((await pool.getSession()).isUsable()).toBe(true);
  });

  it('routes events sent to the root actor to the right session', async () => {
    const { pool } = await open({ maxPoolSize: 600, shardCapacity: 16 });
    const sessions = await Promise.all(Array.from({ length: 600 }, () => pool.getSession()));
    const target = sessions[517]!;
    pool.actor.send({ type: 'pool.sendToSession', sessionId: target.id, event: { type: 'session.markBad' } });
    expect(target.errorScore).toBe(1);
    expect(sessions.filter((session) => session.errorScore > 0)).toHaveLength(1);
  });

  it('reports the Crawlee-shaped state', async () => {
    const { pool } = await open({ maxPoolSize: 3 });
    const session = await pool.getSession();
    session.setCookie('sid=1; Path=/', 'https://example.com/');
    session.userData.label = 'x';
    await pool.getSession();
    session.retire();
    const state = pool.getState();
    expect(state.usableSessionsCount).toBe(1);
    expect(state.retiredSessionsCount).toBe(1);
    expect(state.sessions).toHaveLength(1);
    expect(JSON.parse(JSON.stringify(state))).toEqual(state);
  });

  it('refuses use before initialize() and after teardown(); teardown retires nobody', async () => {
    const fresh = new SessionPool();
    await expect(fresh.getSession()).rejects.toBeInstanceOf(PoolNotRunningError);
    const { pool, retired } = await open();
    await pool.getSession();
    await pool.teardown();
    expect(retired).toHaveLength(0);
    await expect(pool.getSession()).rejects.toMatchObject({ code: 'ERR_POOL_NOT_RUNNING' });
    await expect(pool.initialize()).rejects.toBeInstanceOf(PoolNotRunningError);
  });

  it('publishes sessionCreated with a handle that reads the live actor', async () => {
    const { pool } = await open();
    const created: string[] = [];
    pool.on('sessionCreated', (session) => created.push(`${session.id}:${session.state}`));
    const session = await pool.getSession();
    expect(created).toEqual([`${session.id}:fresh`]);
    session.markGood();
    expect(session.actor.getSnapshot().value).toBe('active');
  });

  it('retires at once a session spawned with a context that is already past its limits', async () => {
    const { pool, clock } = await open();
    const events: SessionRetiredEvent[] = [];
    pool.on('sessionRetired', (event) => events.push(event));
    const base = {
      createdAt: clock.now(),
      maxUsageCount: 5,
      maxErrorScore: 3,
      errorScoreDecrement: 0.5,
      blockedStatusCodes: [403],
    };
    pool.actor.send({
      type: 'pool.addSessions',
      sessions: [
        { ...base, id: 'used-up', expiresAt: clock.now() + 60_000, usageCount: 5 },
        { ...base, id: 'degraded', expiresAt: clock.now() + 60_000, usageCount: 2, errorScore: 1 },
        { ...base, id: 'old', expiresAt: clock.now() - 1 },
      ],
    });
    clock.increment(0);
    expect(events.map((event) => [event.session.id, event.reason])).toEqual([
      ['used-up', 'maxUsageCount'],
      ['old', 'expired'],
    ]);
    expect((await pool.getSession('degraded'))?.state).toBe('degraded');
    expect(pool.sessionsCount).toBe(1);
  });
});
