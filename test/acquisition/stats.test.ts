/** `pool.stats()`: scrapy-zyte-api's session counters and the pool's sessions and uses, counted at a real server. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Session, SessionPool } from '../../src/index.js';
import { type CountingSite, startCountingSite } from './counting-site.js';

let site: CountingSite;
const pools: SessionPool[] = [];
beforeAll(async () => {
  site = await startCountingSite({ delayMs: 1 });
});
afterAll(() => site.close());
afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.teardown()));
});

async function open(options: ConstructorParameters<typeof SessionPool>[0]) {
  const pool = await SessionPool.open(options);
  pools.push(pool);
  return pool;
}

describe('pool.stats()', () => {
  it('counts inits, checks, failures, blocks and expiries, and uses by outcome', async () => {
    let inits = 0;
    const pool = await open({
      maxPoolSize: 2,
      maxSessionRotations: 0,
      sessionOptions: { maxUsageCount: 3 },
      maxCheckFailures: 5,
      initSession: (_session: Session) => {
        inits += 1;
        if (inits === 2) throw new Error('login refused');
      },
      sessionChecker: (response) => !response.url.includes('captcha'),
    });
    const fetchAll = (path: string, times: number) =>
      Promise.allSettled(Array.from({ length: times }, () => pool.fetch(`${site.origin}${path}`)));
    await fetchAll('/ok', 2);
    await fetchAll('/ok?captcha=1', 1);
    await fetchAll('/fail', 1);
    await fetchAll('/block', 1);
    const stats = pool.stats();
    expect(stats['init/failed']).toBe(1);
    expect(stats['init/check-passed']).toBe(inits - 1);
    expect(stats['use/check-passed']).toBe(2);
    expect(stats['use/check-failed']).toBe(1);
    expect(stats['use/failed']).toBe(1);
    expect(stats['use/blocked']).toBe(1);
    expect(stats.uses).toMatchObject({ reserved: 0, good: 2, bad: 2, unused: 0 });
    // The blocked use counts without blame; expiries come from sessions that reached maxUsageCount.
    expect(stats.uses.aborted).toBe(1);
    expect(stats['use/expired']).toBe(stats.sessions.retiredByReason.maxUsageCount ?? 0);
    expect(stats.sessions.retiredByReason.initFailed).toBe(1);
    expect(stats.sessions.retiredByReason.blockedStatusCode).toBe(1);
    expect(stats.sessions.created - stats.sessions.retired).toBe(stats.sessions.live);
  });

  it('reports cookies a jar evicted to stay within its limits, per session', async () => {
    const pool = await open({ maxPoolSize: 1, maxCookiesPerSession: 2 });
    const events: unknown[] = [];
    pool.on('cookiesEvicted', (event) => events.push(event));
    const session = await pool.getSession();
    for (const name of ['a', 'b', 'c', 'd']) session.setCookie(`${name}=1`, site.origin);
    await Promise.resolve();
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual([
      { sessionId: session.id, count: 2, maxCookiesPerDomain: 0, maxCookiesPerSession: 2 },
    ]);
    expect(session.getCookieString(site.origin)).toBe('c=1; d=1');
  });
});
