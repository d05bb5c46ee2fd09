/**
 * `RedisSessionStore` behind a plain `SessionPool`, on a real redis-server: round trips, concurrent writers,
 * exactly-once retirement, bad input and unreachable Redis.
 */
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CorruptStateError,
  InvalidOptionError,
  RedisUnavailableError,
  SessionPool,
  type StoreWriteBatch,
} from '../../src/index.js';
import { RedisSessionStore } from '../../src/redis/index.js';
import { simulatedClock, T0 } from '../persistence/helpers.js';
import { plainClient } from './helpers.js';
import { freePort, RedisServer, redisMissing } from './redis-server.js';

const missing = redisMissing();
const SITE = 'http://shop.example.com/';

describe.skipIf(missing)('RedisSessionStore', () => {
  let server: RedisServer;
  let client: Redis;
  const pools: SessionPool[] = [];
  const stores: RedisSessionStore[] = [];
  let prefixes = 0;

  beforeAll(async () => {
    server = await RedisServer.start();
    client = plainClient(server.url);
  });
  afterAll(async () => {
    client.disconnect();
    await server.close();
  });
  afterEach(async () => {
    for (const pool of pools.splice(0)) await pool.teardown().catch(() => {});
    for (const store of stores.splice(0)) await store.close().catch(() => {});
  });

  const newPrefix = () => `store-test-${++prefixes}:`;
  const store = (keyPrefix: string) => {
    const created = new RedisSessionStore({ redisUrl: server.url, keyPrefix });
    stores.push(created);
    return created;
  };
  const pool = async (keyPrefix: string, extra: Record<string, unknown> = {}) => {
    const created = new SessionPool({
      store: store(keyPrefix),
      persistenceMode: 'write-through',
      clock: simulatedClock(),
      ...extra,
    });
    pools.push(created);
    await created.initialize();
    return created;
  };

  it('restores sessions with their counters, limits, deadlines, userData and cookies', async () => {
    const prefix = newPrefix();
    const first = await pool(prefix);
    const [a, b] = await first.addSessions([
      { id: 'a', maxUsageCount: 7, userData: { account: 'alice' } },
      { id: 'b', maxAgeSecs: 120 },
    ]);
    a?.markGood();
    a?.markBad();
    a?.setCookie('token=abc; Path=/', SITE);
    b?.coolDown(T0 + 30_000);
    await first.persistState();
    await first.teardown();

    const second = await pool(prefix);
    expect(second.sessionsCount).toBe(2);
    const restoredA = await second.getSession('a');
    expect(restoredA?.usageCount).toBe(2);
    expect(restoredA?.errorScore).toBe(1);
    expect(restoredA?.maxUsageCount).toBe(7);
    expect(restoredA?.userData).toEqual({ account: 'alice' });
    expect(restoredA?.getCookieString(SITE)).toBe('token=abc');
    const restoredB = await second.getSession('b');
    expect(restoredB?.state).toBe('blocked');
    expect(restoredB?.blockedUntil?.getTime()).toBe(T0 + 30_000);
    expect(restoredB?.expiresAt.getTime()).toBe(T0 + 120_000);
  });

  it('two pools marking the same sessions at once lose no update to usageCount or errorScore', async () => {
    const prefix = newPrefix();
    const seed = await pool(prefix, { sessionOptions: { maxUsageCount: 1000, maxErrorScore: 1000 } });
    await seed.addSessions([{ id: 's1' }, { id: 's2' }]);
    await seed.persistState();
    await seed.teardown();

    const [one, two] = await Promise.all([pool(prefix), pool(prefix)]);
    const hammer = async (target: SessionPool, bad: number) => {
      for (let round = 0; round < 40; round += 1) {
        for (const id of ['s1', 's2']) {
          const session = await target.getSession(id);
          if (round < bad) session?.markBad();
          else session?.markGood();
        }
        if (round % 3 === 0) await target.persistState();
      }
      await target.persistState();
    };
    await Promise.all([hammer(one, 4), hammer(two, 2)]);
    for (const id of ['s1', 's2']) {
      expect(Number(await client.hget(`${prefix}s:${id}`, 'u'))).toBe(80);
    }
    // Each pool's marks netted out at zero (goods outweigh bads); together they must not go below zero either.
    expect(Number(await client.hget(`${prefix}s:s1`, 'e'))).toBe(0);
  });

  it('a pool that restores used sessions adds only its own marks to the counters', async () => {
    const prefix = newPrefix();
    const first = await pool(prefix, { sessionOptions: { maxUsageCount: 100, maxErrorScore: 100 } });
    const [session] = await first.addSessions([{ id: 'used' }]);
    for (let i = 0; i < 5; i += 1) session?.markBad();
    await first.persistState();
    await first.teardown();

    const [second, third] = await Promise.all([pool(prefix), pool(prefix)]);
    const [inSecond, inThird] = await Promise.all([second.getSession('used'), third.getSession('used')]);
    expect(inSecond?.usageCount).toBe(5);
    for (let i = 0; i < 3; i += 1) inSecond?.markGood();
    inThird?.markBad();
    await Promise.all([second.persistState(), third.persistState()]);
    expect(await client.hmget(`${prefix}s:used`, 'u', 'e')).toEqual(['9', '4.5']);
  });

  it('a write that is sent again (lost reply, retry) counts once', async () => {
    const prefix = newPrefix();
    const writer = store(prefix);
    await writer.open();
    const record = {
      id: 'x',
      createdAt: T0,
      expiresAt: T0 + 60_000,
      usageCount: 5,
      maxUsageCount: 50,
      errorScore: 1.5,
      maxErrorScore: 3,
      errorScoreDecrement: 0.5,
      blockedStatusCodes: [403],
      blockedUntil: null,
      userData: {},
      retirementReason: null,
      blockedStatusCode: null,
      cookieJar: null,
    };
    const batch: StoreWriteBatch = {
      savedAt: T0,
      pool: { createdCount: 1, retiredCount: 0 },
      upserts: new Map([['x', JSON.stringify(record)]]),
      deletes: [],
      replace: false,
    };
    await writer.write(batch);
    await writer.write(batch);
    await writer.write(batch);
    expect(await client.hmget(`${prefix}s:x`, 'u', 'e')).toEqual(['5', '1.5']);
  });

  it('a session retires once across pools: one count, and a stale write never revives it', async () => {
    const prefix = newPrefix();
    const seed = await pool(prefix);
    await seed.addSessions([{ id: 'r' }]);
    await seed.persistState();
    await seed.teardown();
    // A third store that loaded the session while it was alive.
    const stale = store(prefix);
    await stale.open();
    const alive = (await stale.load())?.sessions.find((record) => record.id === 'r');
    expect(alive?.retirementReason).toBeNull();

    const [one, two] = await Promise.all([pool(prefix), pool(prefix)]);
    const retired = { one: 0, two: 0 };
    one.on('sessionRetired', () => retired.one++);
    two.on('sessionRetired', () => retired.two++);
    (await one.getSession('r'))?.retire();
    (await two.getSession('r'))?.retire();
    await Promise.all([one.persistState(), two.persistState()]);
    expect(retired).toEqual({ one: 1, two: 1 });
    expect(await client.hget(`${prefix}meta`, 'retiredCount')).toBe('1');
    expect(await client.sismember(`${prefix}live`, 'r')).toBe(0);

    // Writing it as if alive does not bring it back.
    await stale.write({
      savedAt: T0,
      pool: { createdCount: 1, retiredCount: 0 },
      upserts: new Map([['r', JSON.stringify(alive)]]),
      deletes: [],
      replace: false,
    });
    expect(await client.hget(`${prefix}s:r`, 'retired')).toBe('1');
    expect(await client.sismember(`${prefix}live`, 'r')).toBe(0);
    expect(await (await pool(prefix)).sessionsCount).toBe(0);
  });

  it('keeps pools with different key prefixes apart', async () => {
    const [left, right] = [newPrefix(), newPrefix()];
    await (await pool(left)).addSessions(3);
    await (await pool(right)).addSessions(1);
    for (const created of pools) await created.persistState();
    expect(await client.scard(`${left}live`)).toBe(3);
    expect(await client.scard(`${right}live`)).toBe(1);
  });

  it('resetting a pool leaves a pool on a longer prefix whole (crawl: vs crawl:shop:)', async () => {
    const outer = newPrefix();
    const inner = `${outer}shop:`;
    await (await pool(outer)).addSessions(2);
    const innerPool = await pool(inner);
    await innerPool.addSessions(3);
    for (const created of pools) await created.persistState();
    const innerKeys = (await client.keys(`${inner}*`)).sort();
    expect(innerKeys.length).toBeGreaterThanOrEqual(5);
    await stores[0]?.reset();
    expect(await client.scard(`${outer}live`)).toBe(0);
    expect((await client.keys(`${outer}s:*`)).length).toBe(0);
    expect((await client.keys(`${inner}*`)).sort()).toEqual(innerKeys);
  });

  it('moves an unreadable session record aside (never deletes it) and names the problem', async () => {
    const prefix = newPrefix();
    await client.sadd(`${prefix}live`, 'broken');
    await client.hset(`${prefix}s:broken`, 'rec', '{"id":"broken",', 'u', '0', 'e', '0', 'retired', '0');
    const broken = new SessionPool({ store: store(prefix) });
    pools.push(broken);
    const error = await broken.initialize().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CorruptStateError);
    expect((error as CorruptStateError).message).toContain('"rec" is not JSON');
    expect((error as CorruptStateError).movedTo).toContain(`${prefix}aside-`);
    const aside = await client.keys(`${prefix}aside-*`);
    expect(aside.some((key) => key.endsWith(':s:broken'))).toBe(true);
    expect(await client.exists(`${prefix}s:broken`)).toBe(0);
  });

  it('says clearly when Redis cannot be reached at start, without leaking the password', async () => {
    const port = await freePort();
    const unreachable = new RedisSessionStore({
      redisUrl: `redis://crawler:s3cret@127.0.0.1:${port}/0`,
      connectTimeoutMs: 2000,
    });
    const failing = new SessionPool({ store: unreachable });
    const error = await failing.initialize().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect((error as RedisUnavailableError).code).toBe('ERR_REDIS_UNAVAILABLE');
    expect((error as RedisUnavailableError).field).toBe('redisUrl');
    expect((error as Error).message).toContain(`127.0.0.1:${port}`);
    expect((error as Error).message).not.toContain('s3cret');
    await failing.teardown();
  });

  it.each([
    [{ redisUrl: 'http://127.0.0.1:6379' }, 'redisUrl'],
    [{ redisUrl: 'redis://127.0.0.1:6379/db' }, 'redisUrl'],
    [{ redisUrl: 42 }, 'redisUrl'],
    [{ keyPrefix: '' }, 'keyPrefix'],
    [{ keyPrefix: 'crawl *' }, 'keyPrefix'],
    [{ connectTimeoutMs: 0 }, 'connectTimeoutMs'],
    [{ tombstoneTtlSecs: 1.5 }, 'tombstoneTtlSecs'],
    [{ redisOptions: 'fast' }, 'redisOptions'],
  ])('rejects %j with an InvalidOptionError naming %s', (options, field) => {
    const build = () => new RedisSessionStore(options as never);
    expect(build).toThrow(InvalidOptionError);
    try {
      build();
    } catch (error) {
      expect((error as InvalidOptionError).field).toBe(field);
    }
  });
});
