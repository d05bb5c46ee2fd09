/**
 * Two `SharedSessionPool`s in this process play two workers of one fleet, on a real redis-server.
 */
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  InvalidOptionError,
  NoUsableSessionError,
  RedisUnavailableError,
  UnknownSessionError,
} from '../../src/index.js';
import { createSharedPool, SharedSessionPool, type SharedSessionPoolOptions } from '../../src/redis/index.js';
import { NO_FAULTS, startTestSite, type TestSite } from '../../src/testing/index.js';
import { simulatedClock } from '../persistence/helpers.js';
import { plainClient, until } from './helpers.js';
import { freePort, RedisServer, redisMissing } from './redis-server.js';

const missing = redisMissing();

describe.skipIf(missing)('SharedSessionPool', () => {
  let server: RedisServer;
  let client: Redis;
  let site: TestSite | undefined;
  const pools: SharedSessionPool[] = [];
  let prefixes = 0;
  let prefix = '';

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
    await site?.close();
    site = undefined;
  });

  const worker = async (options: SharedSessionPoolOptions<SharedSessionPool> = {}) => {
    const pool = await createSharedPool({
      redisUrl: server.url,
      keyPrefix: prefix,
      leaseTtlMs: 2000,
      ...options,
    });
    pools.push(pool);
    return pool;
  };
  const fresh = () => {
    prefix = `shared-test-${++prefixes}:`;
  };

  it('holds the fleet to maxPoolSize and each session to maxConcurrencyPerSession', async () => {
    fresh();
    const options = { maxPoolSize: 3, sessionWaitTimeoutMs: 300 };
    const [a, b] = [await worker(options), await worker(options)];
    const held = await Promise.all([a.acquire(), b.acquire(), a.acquire()]);
    expect(new Set(held.map((lease) => lease.session.id)).size).toBe(3);
    expect(await a.fleetSize()).toBe(3);
    await expect(b.acquire()).rejects.toBeInstanceOf(NoUsableSessionError);
    expect(await client.hget(`${prefix}meta`, 'createdCount')).toBe('3');
    // Both workers mirror all three sessions; a released one is free again for either.
    await until(() => a.sessionsCount === 3 && b.sessionsCount === 3);
    await held[0]?.release();
    const again = await b.acquire();
    expect(again.session.id).toBe(held[0]?.session.id);
  });

  it('hands the cookies one worker wrote to the next worker that leases the session', async () => {
    fresh();
    const url = 'http://shop.example.com/';
    const [a, b] = [await worker({ maxPoolSize: 1 }), await worker({ maxPoolSize: 1 })];
    const first = await a.acquire();
    first.session.setCookie('cart=1; Path=/', url);
    first.session.setCookie('theme=dark; Path=/', url);
    await first.release();

    const second = await b.acquire();
    // Both cookies, whatever their order: two set in one millisecond have no creation order another worker can see.
    expect(second.session.getCookieString(url).split('; ').sort()).toEqual(['cart=1', 'theme=dark']);
    second.session.setCookie('cart=2; Path=/', url);
    second.session.setCookie('theme=gone; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT', url);
    await second.release();

    const third = await a.acquire();
    expect(third.session.getCookieString(url)).toBe('cart=2');
    await third.release();
  });

  it('a retirement anywhere fires sessionRetired once in every worker, and the session is never handed out again', async () => {
    fresh();
    const [a, b] = [await worker({ maxPoolSize: 2 }), await worker({ maxPoolSize: 2 })];
    const heard = { a: [] as string[], b: [] as string[] };
    a.on('sessionRetired', ({ session, reason }) => heard.a.push(`${session.id}:${reason}`));
    b.on('sessionRetired', ({ session, reason }) => heard.b.push(`${session.id}:${reason}`));
    const lease = await a.acquire();
    const id = lease.session.id;
    await until(() => b.sessionsCount === 1);
    const mirrored = await b.pool.getSession(id);
    lease.session.retire();
    lease.session.retire();
    await lease.release();
    await until(() => heard.b.length === 1);
    expect(heard).toEqual({ a: [`${id}:manual`], b: [`${id}:manual`] });
    // Marks on the retired mirror are ignored and do not bring it back.
    mirrored?.markGood();
    expect(mirrored?.state).toBe('retired');
    await expect(b.acquire({ sessionId: id })).rejects.toBeInstanceOf(UnknownSessionError);
    expect(await client.hget(`${prefix}meta`, 'retiredCount')).toBe('1');
    expect(heard.a).toHaveLength(1);
  }, 20_000);

  it('expiry on the pool clock retires the session across the fleet', async () => {
    fresh();
    const clock = simulatedClock(Date.now());
    const a = await worker({ clock, sessionOptions: { maxAgeSecs: 60 } });
    const b = await worker();
    const heard: string[] = [];
    b.on('sessionRetired', ({ reason }) => heard.push(reason));
    const lease = await a.acquire();
    await lease.release();
    clock.increment(61_000);
    await until(() => heard.length === 1);
    expect(heard).toEqual(['expired']);
    expect(await a.fleetSize()).toBe(0);
  });

  it('fetch leases a session per attempt, rotates away from blocked ones, and every use lands in Redis', async () => {
    fresh();
    site = await startTestSite({ ...NO_FAULTS, blockAfter: 3 });
    // With 24 requests at once, several sessions can reach their ban together: rotations enough to get past them.
    const options = { maxPoolSize: 4, maxSessionRotations: 10 };
    const [a, b] = [await worker(options), await worker(options)];
    const responses = await Promise.all(
      Array.from({ length: 24 }, (_, k) => (k % 2 ? a : b).fetch(`${site?.url}/page/${k}`)),
    );
    expect(responses.every((response) => response.statusCode === 200)).toBe(true);
    const retired = Number(await client.hget(`${prefix}meta`, 'retiredCount'));
    expect(retired).toBeGreaterThan(0);
    let usage = 0;
    for (const key of await client.keys(`${prefix}s:*`)) usage += Number(await client.hget(key, 'u'));
    expect(usage).toBe(24);
    // The site bans a visitor after 3 requests: each banned session retired on its 403, once, fleet-wide.
    const reasons = await Promise.all(
      (await client.zrange(`${prefix}retired`, 0, -1)).map((id) => client.hget(`${prefix}s:${id}`, 'reason')),
    );
    expect(reasons).toHaveLength(retired);
    expect(new Set(reasons)).toEqual(new Set(['blockedStatusCode']));
  }, 20_000);

  it('reports a lease that lapsed in Redis while held', async () => {
    fresh();
    const a = await worker({ leaseTtlMs: 300 });
    const lease = await a.acquire();
    const lost = new Promise((resolve) => a.once('leaseLost', resolve));
    await client.del(`${prefix}l:${lease.session.id}`);
    expect(await lost).toBe(lease);
    expect(lease.lost).toBe(true);
    await lease.release();
  });

  it('refuses persistence options and bad lease settings with the field named, and unreachable Redis with a typed error', async () => {
    expect(() => new SharedSessionPool({ store: 'file' } as never)).toThrow(InvalidOptionError);
    for (const [options, field] of [
      [{ leaseTtlMs: 10 }, 'leaseTtlMs'],
      [{ maxPoolSize: 0 }, 'maxPoolSize'],
      [{ persistenceMode: 'checkpoint' }, 'persistenceMode'],
      [{ keyPrefix: '' }, 'keyPrefix'],
      [{ sessionOptions: { maxUsageCount: -1 } }, 'sessionOptions.maxUsageCount'],
    ] as const) {
      const error = (() => {
        try {
          new SharedSessionPool(options as never);
        } catch (caught) {
          return caught;
        }
      })();
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect((error as InvalidOptionError).field).toBe(field);
    }
    const port = await freePort();
    await expect(
      createSharedPool({ redisUrl: `redis://127.0.0.1:${port}/0`, connectTimeoutMs: 2000 }),
    ).rejects.toBeInstanceOf(RedisUnavailableError);
  });
});
