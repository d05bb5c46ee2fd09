import { afterEach, describe, expect, it } from 'vitest';
import { MemorySessionStore, type SessionRetiredEvent, type StateRestoredEvent } from '../../src/index.js';
import { Resources, simulatedClock, T0 } from './helpers.js';

const resources = new Resources();
afterEach(() => resources.close());

describe('persistence round trip', () => {
  it('restores every field of every session: ids, counters, limits, deadlines, userData, cookies, state', async () => {
    const store = new MemorySessionStore();
    const clock = simulatedClock();
    const first = await resources.pool({
      store,
      clock,
      blockedStatusCodes: [403, 451],
      sessionOptions: { maxAgeSecs: 600, maxUsageCount: 7, maxErrorScore: 4, errorScoreDecrement: 0.25 },
    });
    const degraded = await first.addSession({
      id: 'degraded',
      userData: { account: 'a@example.com', n: [1, 2] },
    });
    degraded.markGood();
    degraded.markBad();
    degraded.setCookie('sid=abc; Path=/; HttpOnly', 'https://shop.example.com/login');
    degraded.setCookie('wide=1; Domain=example.com; Path=/; Max-Age=3600', 'https://shop.example.com/');
    const cooling = await first.addSession({ id: 'cooling', maxUsageCount: 99 });
    cooling.coolDown(T0 + 30_000);
    const fresh = await first.addSession({ id: 'fresh' });
    clock.increment(1000);
    const before = first.getState().sessions;
    const contexts = [...first.sessions()].map((session) =>
      structuredClone(session.actor.getSnapshot().context),
    );
    await first.teardown();

    const second = await resources.pool({ store, clock });
    const after = second.getState().sessions;
    const byId = (list: typeof before) => Object.fromEntries(list.map((state) => [state.id, state]));
    const restored = byId(after);
    for (const saved of before) {
      const { cookieJar: savedJar, ...savedFields } = saved;
      const { cookieJar: restoredJar, ...restoredFields } = restored[saved.id]!;
      expect(restoredFields).toEqual(savedFields);
      expect(restoredJar.cookies).toEqual(savedJar.cookies);
    }
    expect(Object.keys(restored).sort()).toEqual(['cooling', 'degraded', 'fresh']);
    // The whole machine context comes back, including fields this test does not know about.
    for (const context of contexts) {
      const id = (context as { id: string }).id;
      expect((await second.getSession(id))?.actor.getSnapshot().context).toEqual(context);
    }
    expect(restored.degraded).toMatchObject({
      state: 'degraded',
      usageCount: 2,
      errorScore: 1,
      maxErrorScore: 4,
      errorScoreDecrement: 0.25,
      maxUsageCount: 7,
      userData: { account: 'a@example.com', n: [1, 2] },
    });
    expect(restored.cooling).toMatchObject({ state: 'blocked', maxUsageCount: 99 });
    expect(restored.fresh?.state).toBe('fresh');
    const session = await second.getSession('degraded');
    expect(session?.getCookieString('https://shop.example.com/')).toBe('sid=abc; wide=1');
    expect(session?.getCookieString('https://www.example.com/')).toBe('wide=1');
    // The restored session keeps working: marks count on from the saved counters.
    session?.markGood();
    expect(session?.usageCount).toBe(3);
    expect(fresh.id).toBe('fresh');
  });

  it('keeps saved per-session limits over new defaults, and uses new defaults for new sessions', async () => {
    const store = new MemorySessionStore();
    const clock = simulatedClock();
    const first = await resources.pool({
      store,
      clock,
      sessionOptions: { maxUsageCount: 3, maxErrorScore: 1 },
    });
    await first.addSession({ id: 'old' });
    await first.teardown();

    const second = await resources.pool({
      store,
      clock,
      sessionOptions: { maxUsageCount: 100, maxErrorScore: 10 },
    });
    const old = await second.getSession('old');
    expect(old?.maxUsageCount).toBe(3);
    expect(old?.maxErrorScore).toBe(1);
    const added = await second.addSession({ id: 'new' });
    expect(added.maxUsageCount).toBe(100);
    // The saved limit is live, not just displayed: three uses retire the restored session.
    old?.markGood();
    old?.markGood();
    old?.markGood();
    expect(await second.getSession('old')).toBeUndefined();
  });

  it('re-arms expiry from the absolute deadline: a restored session expires when its saved time comes', async () => {
    const store = new MemorySessionStore();
    const clock = simulatedClock();
    const first = await resources.pool({ store, clock, sessionOptions: { maxAgeSecs: 100 } });
    await first.addSession({ id: 'short' });
    clock.increment(60_000);
    await first.teardown();

    const second = await resources.pool({ store, clock });
    const retired: SessionRetiredEvent[] = [];
    second.on('sessionRetired', (event) => retired.push(event));
    expect((await second.getSession('short'))?.state).toBe('fresh');
    clock.increment(39_999);
    expect(retired).toHaveLength(0);
    clock.increment(1);
    expect(retired.map((event) => [event.session.id, event.reason])).toEqual([['short', 'expired']]);
    expect(second.sessionsCount).toBe(0);
  });

  it('re-arms a cool-down from the absolute deadline: a restored blocked session comes back at blockedUntil', async () => {
    const store = new MemorySessionStore();
    const clock = simulatedClock();
    const first = await resources.pool({ store, clock });
    const session = await first.addSession({ id: 'rate-limited' });
    session.markGood();
    session.coolDown(T0 + 20_000);
    clock.increment(5000);
    await first.teardown();

    const second = await resources.pool({ store, clock });
    const restored = await second.getSession('rate-limited');
    expect(restored?.state).toBe('blocked');
    expect(restored?.isUsable()).toBe(false);
    expect(restored?.blockedUntil?.getTime()).toBe(T0 + 20_000);
    clock.increment(14_999);
    expect(restored?.state).toBe('blocked');
    clock.increment(1);
    expect(restored?.state).toBe('active');
    expect(restored?.usageCount).toBe(1);
  });

  it('retires sessions that expired while the crawl was down, at once and with sessionRetired', async () => {
    const store = new MemorySessionStore();
    const clock = simulatedClock();
    const first = await resources.pool({ store, clock, sessionOptions: { maxAgeSecs: 10 } });
    await first.addSession({ id: 'stale' });
    await first.addSession({ id: 'long-lived', maxAgeSecs: 1000 });
    await first.teardown();
    clock.increment(60_000);

    const second = resources.track(new (await import('../../src/index.js')).SessionPool({ store, clock }));
    const retired: SessionRetiredEvent[] = [];
    const restoredEvents: StateRestoredEvent[] = [];
    second.on('sessionRetired', (event) => retired.push(event));
    second.on('stateRestored', (event) => restoredEvents.push(event));
    await second.initialize();
    expect(retired.map((event) => [event.session.id, event.reason])).toEqual([['stale', 'expired']]);
    expect(retired[0]?.state.id).toBe('stale');
    expect([...second.sessions()].map((session) => session.id)).toEqual(['long-lived']);
    expect(restoredEvents).toEqual([
      { location: store.location, savedAt: T0, restored: 1, retired: 1, dropped: [], cookiesDropped: {} },
    ]);
    expect(second.retiredSessionsCount).toBe(1);
    // The retirement is not reported twice when the clock moves on.
    clock.increment(1000);
    expect(retired).toHaveLength(1);
  });

  it('restores the pool counters and keeps counting from them', async () => {
    const store = new MemorySessionStore();
    const clock = simulatedClock();
    const first = await resources.pool({ store, clock });
    for (const id of ['a', 'b', 'c']) await first.addSession({ id });
    first.retireSession('a');
    first.retireSession('b');
    await first.teardown();

    const second = await resources.pool({ store, clock });
    expect(second.retiredSessionsCount).toBe(2);
    expect(second.sessionsCount).toBe(1);
    second.retireSession('c');
    expect(second.retiredSessionsCount).toBe(3);
    await second.teardown();
    const saved = JSON.parse(store.toJSONText()!);
    expect(saved.pool).toEqual({ createdCount: 3, retiredCount: 3 });
    expect(saved.sessions).toEqual([]);
  });

  it('restores only up to maxPoolSize and names the sessions it had to drop', async () => {
    const store = new MemorySessionStore();
    const clock = simulatedClock();
    const first = await resources.pool({ store, clock, maxPoolSize: 5 });
    for (const id of ['s1', 's2', 's3', 's4']) await first.addSession({ id });
    await first.teardown();

    const second = resources.track(
      new (await import('../../src/index.js')).SessionPool({ store, clock, maxPoolSize: 2 }),
    );
    const events: StateRestoredEvent[] = [];
    second.on('stateRestored', (event) => events.push(event));
    await second.initialize();
    expect(second.sessionsCount).toBe(2);
    expect(events[0]?.restored).toBe(2);
    expect(events[0]?.dropped).toEqual(['s3', 's4']);
  });

  it('persists on demand with persistState(), on a periodic checkpoint, and on teardown', async () => {
    const store = new MemorySessionStore();
    const clock = simulatedClock();
    const pool = await resources.pool({ store, clock, persistStateIntervalMillis: 10_000 });
    const saved = () =>
      JSON.parse(store.toJSONText() ?? '{"sessions":[]}') as {
        sessions: { id: string; usageCount: number }[];
      };
    const session = await pool.addSession({ id: 'x' });
    expect(saved().sessions).toEqual([]);
    await pool.persistState();
    expect(saved().sessions.map((s) => s.id)).toEqual(['x']);

    session.markGood();
    clock.increment(9_999);
    await new Promise((resolve) => setImmediate(resolve));
    expect(saved().sessions[0]?.usageCount).toBe(0);
    const checkpoint = new Promise((resolve) => pool.once('statePersisted', resolve));
    clock.increment(1);
    await checkpoint;
    expect(saved().sessions[0]?.usageCount).toBe(1);

    session.markGood();
    await pool.teardown();
    expect(saved().sessions[0]?.usageCount).toBe(2);
  });

  it('resetStore() before initialize() starts over; on a running pool the next write stores the live sessions', async () => {
    const store = new MemorySessionStore();
    const clock = simulatedClock();
    const first = await resources.pool({ store, clock });
    await first.addSession({ id: 'old' });
    await first.teardown();

    const second = resources.track(new (await import('../../src/index.js')).SessionPool({ store, clock }));
    await second.resetStore();
    await second.initialize();
    expect(second.sessionsCount).toBe(0);
    await second.addSession({ id: 'new' });
    await second.persistState();
    await second.resetStore();
    expect(store.toJSONText()).toBeUndefined();
    await second.persistState();
    expect(JSON.parse(store.toJSONText()!).sessions.map((s: { id: string }) => s.id)).toEqual(['new']);
  });
});
