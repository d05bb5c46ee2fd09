import { CookieJar } from 'tough-cookie';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CorruptStateError,
  type CrawleeSessionPoolState,
  InvalidSavedSessionError,
  MemorySessionStore,
  type SessionRetiredEvent,
} from '../../src/index.js';
import { Resources, simulatedClock, T0 } from './helpers.js';

const resources = new Resources();
afterEach(() => resources.close());

const iso = (millis: number) => new Date(millis).toISOString();

/** What Crawlee's `SessionPool.persistState()` writes under `SDK_SESSION_POOL_STATE`, built the way Crawlee builds it. */
async function crawleeFixture(): Promise<CrawleeSessionPoolState> {
  const jar = new CookieJar();
  await jar.setCookie('session=s3cr3t; Path=/; HttpOnly', 'https://shop.example.com/login');
  await jar.setCookie('consent=yes; Domain=example.com; Path=/', 'https://shop.example.com/');
  const base = {
    userData: {},
    errorScore: 0,
    maxErrorScore: 3,
    errorScoreDecrement: 0.5,
    createdAt: iso(T0 - 60_000),
    expiresAt: iso(T0 + 3_000_000),
    usageCount: 0,
    maxUsageCount: 50,
    cookieJar: new CookieJar().toJSON(),
  };
  return {
    usableSessionsCount: 2,
    retiredSessionsCount: 5,
    sessions: [
      {
        ...base,
        id: 'session_logged_in',
        cookieJar: jar.toJSON(),
        userData: { account: 'buyer-1' },
        errorScore: 1.5,
        usageCount: 12,
        maxUsageCount: 40,
        errorScoreDecrement: 0.25,
      },
      // Written by an old Apify SDK: no maxUsageCount.
      (({ maxUsageCount: _dropped, ...old }) => ({ ...old, id: 'session_old_sdk' }))(base),
      { ...base, id: 'session_expired', expiresAt: iso(T0 - 1000) },
      { ...base, id: 'session_blocked', errorScore: 3 },
    ],
  };
}

describe('Crawlee state import', () => {
  it('imports ids, cookies, scores, usage, limits, deadlines and userData; unusable sessions retire at once', async () => {
    const clock = simulatedClock();
    const pool = await resources.pool({ clock });
    const retired: SessionRetiredEvent[] = [];
    pool.on('sessionRetired', (event) => retired.push(event));
    const result = await pool.importCrawleeState(JSON.stringify(await crawleeFixture()));

    expect(result.imported.sort()).toEqual(['session_logged_in', 'session_old_sdk']);
    expect(result.retired).toBe(2);
    expect(result.rejected).toEqual([]);
    expect(retired.map((event) => [event.session.id, event.reason]).sort()).toEqual([
      ['session_blocked', 'blocked'],
      ['session_expired', 'expired'],
    ]);

    const session = (await pool.getSession('session_logged_in'))!;
    expect(session.getState()).toMatchObject({
      state: 'degraded',
      errorScore: 1.5,
      usageCount: 12,
      maxUsageCount: 40,
      errorScoreDecrement: 0.25,
      userData: { account: 'buyer-1' },
      createdAt: iso(T0 - 60_000),
      expiresAt: iso(T0 + 3_000_000),
    });
    expect(session.getCookieString('https://shop.example.com/cart')).toBe('session=s3cr3t; consent=yes');
    expect(session.getCookieString('https://www.example.com/')).toBe('consent=yes');
    expect((await pool.getSession('session_old_sdk'))?.maxUsageCount).toBe(50);
    // The pool's blocked status codes apply to imported sessions.
    expect(session.retireOnBlockedStatusCodes(429)).toBe(true);
    // The imported deadline is live: the other session expires when Crawlee said it would.
    clock.set(T0 + 3_000_000);
    expect(pool.sessionsCount).toBe(0);
  });

  it('rejects ids the pool already has, without touching the live session', async () => {
    const pool = await resources.pool({ clock: simulatedClock() });
    const live = await pool.addSession({ id: 'session_logged_in' });
    live.markGood();
    const result = await pool.importCrawleeState(await crawleeFixture());
    expect(result.rejected).toEqual(['session_logged_in']);
    expect((await pool.getSession('session_logged_in'))?.usageCount).toBe(1);
  });

  it('persists an import, so a restarted pool has the migrated sessions', async () => {
    const store = new MemorySessionStore();
    const clock = simulatedClock();
    const first = await resources.pool({ store, clock, persistenceMode: 'write-through' });
    await first.importCrawleeState(await crawleeFixture());
    const saved = JSON.parse(store.toJSONText()!);
    expect(saved.sessions.map((s: { id: string }) => s.id).sort()).toEqual([
      'session_logged_in',
      'session_old_sdk',
    ]);
    await first.teardown();
    const second = await resources.pool({ store, clock });
    expect((await second.getSession('session_logged_in'))?.getCookieString('https://shop.example.com/')).toBe(
      'session=s3cr3t; consent=yes',
    );
  });

  it('names the session and the field of a bad Crawlee session, and refuses text that is not JSON', async () => {
    const pool = await resources.pool({ clock: simulatedClock() });
    const fixture = await crawleeFixture();
    (fixture.sessions[1] as unknown as Record<string, unknown>).expiresAt = 'next tuesday';
    const error = (await pool
      .importCrawleeState(fixture)
      .catch((caught: unknown) => caught)) as InvalidSavedSessionError;
    expect(error).toBeInstanceOf(InvalidSavedSessionError);
    expect(error).toMatchObject({ sessionId: 'session_old_sdk', field: 'expiresAt' });
    // Nothing of a rejected import is half-applied.
    expect(pool.sessionsCount).toBe(0);

    await expect(pool.importCrawleeState('{"sessions": [')).rejects.toBeInstanceOf(CorruptStateError);
    await expect(pool.importCrawleeState({} as CrawleeSessionPoolState)).rejects.toThrow(/"sessions" array/);
  });
});
