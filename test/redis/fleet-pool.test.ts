/**
 * A `SessionPool` opened with `fleet: redisFleet(…)` on a real redis-server: the same API as any pool (fetch,
 * acquire, withSession, getSession, dispatcher, events, getState, stats), with uses reserved fleet-wide.
 * Two pools in this process stand for two workers (each its own connections and worker id).
 */
import type { Redis } from 'ioredis';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DuplicateSessionError,
  InvalidOptionError,
  PoolFullError,
  type Session,
  SessionPool,
} from '../../src/index.js';
import { type RedisFleet, redisFleet } from '../../src/redis/index.js';
import { type CountingSite, MARKER, startCountingSite } from '../acquisition/counting-site.js';
import { fleetStates, plainClient, until } from './helpers.js';
import { RedisServer, redisMissing } from './redis-server.js';

const missing = redisMissing();

describe.skipIf(missing)('SessionPool with a Redis fleet', () => {
  let server: RedisServer | undefined;
  let site: CountingSite | undefined;
  let plain: Redis | undefined;
  let pools: SessionPool[] = [];

  afterEach(async () => {
    server?.resume();
    await Promise.all(pools.map((pool) => pool.teardown()));
    pools = [];
    plain?.disconnect();
    await site?.close();
    await server?.close();
    plain = site = server = undefined;
  });

  async function worker(
    options: {
      maxPoolSize?: number;
      maxUsageCount?: number;
      leaseTtlMs?: number;
      commandTimeoutMs?: number;
      usesPerGrant?: number;
      /** Called with each session `initSession` runs for, in this worker. */
      onInit?: (sessionId: string) => void;
    } = {},
  ) {
    const fleet = redisFleet({
      redisUrl: server?.url,
      keyPrefix: 'crawl:shop:',
      leaseTtlMs: options.leaseTtlMs ?? 3000,
      commandTimeoutMs: options.commandTimeoutMs ?? 1000,
      usesPerGrant: options.usesPerGrant,
    });
    const pool = await SessionPool.open({
      fleet,
      maxPoolSize: options.maxPoolSize ?? 4,
      maxConcurrencyPerSession: 1,
      sessionOptions: { maxUsageCount: options.maxUsageCount ?? 10, maxErrorScore: 1000 },
      sessionWaitTimeoutMs: 10_000,
      initSession: (session: Session) => {
        options.onInit?.(session.id);
        session.setCookie(`${MARKER}=${session.id}`, site?.origin ?? '');
      },
    });
    pools.push(pool);
    return { pool, fleet };
  }

  it('initSession runs once per session fleet-wide once a use is counted: the next worker adopts it ready, with its cookies', async () => {
    server = await RedisServer.start();
    site = await startCountingSite({ delayMs: 1 });
    const inits: string[] = [];
    const a = await worker({ maxPoolSize: 1, onInit: (id) => inits.push(`a:${id}`) });
    const b = await worker({ maxPoolSize: 1, onInit: (id) => inits.push(`b:${id}`) });
    const first = await a.pool.fetch(`${site.origin}/ok`);
    const id = first.session.id;
    // The use is counted once its release lands in Redis.
    await until(async () => (await b.fleet.fleetCounters()).used === 1);
    const second = await b.pool.fetch(`${site.origin}/ok`);
    expect(second.session.id).toBe(id);
    expect(inits).toEqual([`a:${id}`]);
    // B's request carried the cookie A's init set: the counting site saw the session's marker twice.
    expect(site.count(id)).toBe(2);
    expect(site.unmarked).toBe(0);
  });

  it('addSession puts a session in the fleet: another worker is granted it with its userData and cookies; maxPoolSize and ids hold fleet-wide', async () => {
    server = await RedisServer.start();
    site = await startCountingSite({ delayMs: 1 });
    plain = plainClient(server.url);
    const a = await worker({ maxPoolSize: 2 });
    const b = await worker({ maxPoolSize: 2 });
    const alice = await a.pool.addSession({ id: 'alice', userData: { account: 'alice' } });
    expect(alice.userData).toEqual({ account: 'alice' });
    // Cookies set under a use reach the fleet with its release.
    await a.pool.withSession((session) => session.setCookie('login=alice-token', site?.origin ?? ''), {
      session: 'alice',
    });
    const inB = await b.pool.withSession(
      (session) => ({ userData: session.userData, cookies: session.getCookieString(site?.origin ?? '') }),
      { session: 'alice' },
    );
    expect(inB.userData).toEqual({ account: 'alice' });
    expect(inB.cookies).toContain('login=alice-token');

    await expect(b.pool.addSession({ id: 'alice' })).rejects.toBeInstanceOf(DuplicateSessionError);
    await b.pool.addSession({ id: 'bob' });
    await expect(a.pool.addSession({ id: 'carol' })).rejects.toBeInstanceOf(PoolFullError);
    // Bad options throw before anything is added.
    await expect(a.pool.addSession({ id: 'dave', maxUsageCount: -1 })).rejects.toMatchObject({
      field: 'sessionOptions.maxUsageCount',
    });
    expect(await plain.hget('{crawl:shop}:meta', 'live')).toBe('2');

    // A retired session's id is never used again; its place is free.
    await a.pool.withSession((session) => session.retire(), { session: 'alice' });
    await until(async () => (await plain?.hget('{crawl:shop}:meta', 'live')) === '1');
    await expect(b.pool.addSession({ id: 'alice' })).rejects.toBeInstanceOf(DuplicateSessionError);
    const [carol] = await b.pool.addSessions([{ id: 'carol' }]);
    expect(carol?.id).toBe('carol');
    expect(await a.pool.withSession((session) => session.id, { session: 'carol' })).toBe('carol');
    expect(await plain.hget('{crawl:shop}:meta', 'live')).toBe('2');
  });

  it('fetch on two workers: the site sees each session exactly as often as Redis counted it, none past its limits', async () => {
    server = await RedisServer.start();
    site = await startCountingSite({ delayMs: 3 });
    plain = plainClient(server.url);
    const a = await worker();
    const b = await worker();
    const retired: string[] = [];
    for (const { pool } of [a, b]) pool.on('sessionRetired', ({ session }) => retired.push(session.id));
    let made = 0;
    const lane = async (pool: SessionPool) => {
      while (made < 120) {
        made += 1;
        const response = await pool.fetch(`${site?.origin}/ok`);
        expect(response.statusCode).toBe(200);
      }
    };
    await Promise.all([a.pool, a.pool, a.pool, b.pool, b.pool, b.pool].map(lane));
    const heardByWorker = [a.pool, b.pool].map(
      (pool) => pool.stats().fleet?.retiredByReason.maxUsageCount ?? 0,
    );
    await Promise.all([a.pool, b.pool].map((pool) => pool.teardown()));
    pools = [];

    const states = await plain.hgetall('{crawl:shop}:st');
    let counted = 0;
    for (const [id, json] of Object.entries(states)) {
      const state = JSON.parse(json) as { u: number; f: number };
      expect(site.count(id), id).toBe(state.u);
      expect(state.u).toBeLessThanOrEqual(10);
      expect(state.f).toBe(0);
      expect(site.maxInFlight(id)).toBeLessThanOrEqual(1);
      counted += state.u;
    }
    expect(site.unmarked).toBe(0);
    expect(counted).toBe(site.total);
    expect(site.total).toBe(made);
    // Each used-up session retired once, in Redis; the workers that held it heard of it once each.
    const meta = await plain.hgetall('{crawl:shop}:meta');
    const usedUp = Object.values(states).filter(
      (json) => (JSON.parse(json) as { u: number }).u === 10,
    ).length;
    expect(usedUp).toBeGreaterThanOrEqual(8);
    expect(Number(meta['why:maxUsageCount'])).toBe(usedUp);
    expect(Number(meta.retired)).toBe(usedUp);
    // Replies to concurrent requests repeat recent retirements: each is heard once per worker all the same.
    for (const heard of heardByWorker) expect(heard).toBeLessThanOrEqual(usedUp);
    expect(Number(meta.live)).toBeLessThanOrEqual(4);
  }, 60_000);

  it('acquire, withSession, getSession, the dispatcher, getState and stats work on a fleet pool', async () => {
    server = await RedisServer.start();
    site = await startCountingSite({ delayMs: 1 });
    // One grant per request here: each of the four asks Redis.
    const { pool, fleet } = await worker({ maxPoolSize: 2, maxUsageCount: 5, usesPerGrant: 1 });
    const lease = await pool.acquire();
    expect(pool.reservedUsesCount).toBe(1);
    const response = await request(`${site.origin}/ok`, {
      dispatcher: lease.dispatcher,
      signal: lease.signal,
    });
    await response.body.text();
    lease.markGood();
    const text = await pool.withSession(async (_session, { dispatcher, signal }) => {
      const res = await request(`${site?.origin}/ok`, { dispatcher, signal });
      return res.body.text();
    });
    expect(text).toBe('200');
    const dispatched = await request(`${site.origin}/ok`, { dispatcher: pool.dispatcher });
    await dispatched.body.text();
    const session = await pool.getSession();
    expect(session.state).not.toBe('retired');
    await until(() => pool.stats().fleet?.requests === 3, 5000);
    const stats = pool.stats();
    expect(stats.uses.reserved).toBe(0);
    expect(stats.fleet).toMatchObject({ requests: 3, leasesLost: 0, connected: true });
    expect(stats.fleet?.leasesGranted).toBe(4);
    const state = pool.getState();
    const usage = state.sessions.reduce((sum, s) => sum + s.usageCount, 0);
    expect(usage).toBe(3);
    expect(await fleet.fleetCounters()).toMatchObject({ used: 3, granted: 4 });
  }, 30_000);

  it('a grant reserves usesPerGrant uses: requests started in the turn the last one ended take them without a round trip; every outcome and cookie reaches Redis when the lease ends', async () => {
    server = await RedisServer.start();
    site = await startCountingSite({ delayMs: 1 });
    plain = plainClient(server.url);
    const a = await worker({ maxPoolSize: 1, maxUsageCount: 8, usesPerGrant: 3 });
    const b = await worker({ maxPoolSize: 1, maxUsageCount: 8, usesPerGrant: 3 });
    const outcomes = ['bad', 'good', 'bad', 'bad', 'good', 'bad', 'good'] as const;
    const trips = a.pool.stats().fleet?.roundTrips ?? 0;
    let session: Session | undefined;
    // One lane: each request asks for a session in the turn where the one before it ended.
    for (const [index, outcome] of outcomes.entries()) {
      const lease = await a.pool.acquire();
      session = lease.session;
      if (index === 0) session.setCookie('k=v1; Path=/', site.origin);
      const response = await request(`${site.origin}/ok`, { dispatcher: lease.dispatcher });
      await response.body.text();
      if (outcome === 'good') lease.markGood();
      else lease.markBad();
    }
    if (!session) throw new Error('no session');
    // Grants of 3, 3 and 2 uses (8 - 6 left): the last one's second use goes back at the end of the turn.
    expect(a.pool.stats().fleet?.leasesGranted).toBe(3);
    // The first grant took two round trips (the pool had room: then the new session); each grant after it
    // carried the release before it; the last release went once this turn and the outbox's were over: 5 round
    // trips for 7 requests (with a grant per request: 9).
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect((a.pool.stats().fleet?.roundTrips ?? 0) - trips).toBe(5);
    await until(async () => (await a.fleet.fleetCounters()).used === 7);
    expect(site.count(session.id)).toBe(7);
    const state = (await fleetStates(plain, '{crawl:shop}')).get(session.id);
    // Error score 1, 0.5, 1.5, 2.5, 2, 3, 2.5: Redis applied every outcome, in order, as the local copy did.
    expect(state).toMatchObject({ u: 7, f: 0, q: 0, e: 2.5, r: '' });
    expect(session.errorScore).toBe(2.5);
    expect(await a.fleet.fleetCounters()).toMatchObject({ used: 7, granted: 3 });
    // The other worker is granted the session's last use, with the cookie set under the first grant.
    const seen = await b.pool.withSession((other) => {
      expect(other.id).toBe(session?.id);
      return other.getCookies(site?.origin ?? '').map((cookie) => `${cookie.name}=${cookie.value}`);
    });
    expect(seen).toContain('k=v1');
    await until(async () => (await b.fleet.fleetCounters())['why:maxUsageCount'] === 1);
    expect((await fleetStates(plain, '{crawl:shop}')).get(session.id)).toMatchObject({ u: 8, q: 0 });
  }, 30_000);

  it('cookies go with the session from one worker to the next: set, changed and deleted', async () => {
    server = await RedisServer.start();
    site = await startCountingSite({ delayMs: 1 });
    const a = await worker({ maxPoolSize: 1, maxUsageCount: 100 });
    const b = await worker({ maxPoolSize: 1, maxUsageCount: 100 });
    const origin = site.origin;
    const names = (session: Session) =>
      session
        .getCookies(origin)
        .map((cookie) => `${cookie.name}=${cookie.value}`)
        .sort();
    const first = await a.pool.withSession((session) => {
      session.setCookie('k1=one; Path=/', origin);
      session.setCookie('k2=two; Path=/', origin);
      return session.id;
    });
    // The release is written in the background: b's grant waits for the lease to be free again.
    const seenByB = await b.pool.withSession((session) => {
      expect(session.id).toBe(first);
      const seen = names(session);
      session.setCookie('k2=changed; Path=/', origin);
      session.setCookie('k1=gone; Path=/; Max-Age=0', origin);
      return seen;
    });
    expect(seenByB).toEqual(['k1=one', 'k2=two', `${MARKER}=${first}`]);
    const seenByA = await a.pool.withSession((session) => names(session));
    expect(seenByA).toEqual(['k2=changed', `${MARKER}=${first}`]);
  }, 30_000);

  it('a session retired in one worker (lease.retire()) retires fleet-wide, once, and is never granted again', async () => {
    server = await RedisServer.start();
    site = await startCountingSite({ delayMs: 1 });
    const a = await worker({ maxPoolSize: 2, maxUsageCount: 100 });
    const b = await worker({ maxPoolSize: 2, maxUsageCount: 100 });
    const heard: string[] = [];
    a.pool.on('sessionRetired', ({ session, reason }) => heard.push(`${session.id} ${reason}`));
    const lease = await a.pool.acquire();
    const burned = lease.session.id;
    lease.retire();
    await until(async () => (await a.fleet.fleetCounters())['why:manual'] === 1, 5000);
    expect(heard).toEqual([`${burned} manual`]);
    const others = new Set<string>();
    for (let i = 0; i < 6; i += 1) {
      await Promise.all(
        [a.pool, b.pool].map((pool) => pool.withSession((session) => others.add(session.id))),
      );
    }
    expect(others.has(burned)).toBe(false);
    expect(heard).toEqual([`${burned} manual`]);
    const counters = await a.fleet.fleetCounters();
    expect(counters).toMatchObject({ retired: 1, 'why:manual': 1, live: 2, created: 3 });
  }, 30_000);

  it('maxPoolSize holds fleet-wide: two workers never make more than maxPoolSize sessions', async () => {
    server = await RedisServer.start();
    site = await startCountingSite({ delayMs: 5 });
    plain = plainClient(server.url);
    const a = await worker({ maxPoolSize: 3, maxUsageCount: 1000 });
    const b = await worker({ maxPoolSize: 3, maxUsageCount: 1000 });
    await Promise.all(
      Array.from({ length: 12 }, (_, i) => (i % 2 ? a.pool : b.pool).fetch(`${site?.origin}/ok`)),
    );
    expect(Number(await plain.hget('{crawl:shop}:meta', 'created'))).toBe(3);
    expect(a.pool.sessionsCount + b.pool.sessionsCount).toBeGreaterThanOrEqual(3);
  }, 30_000);

  it("the holder's lease signal aborts when Redis stalls past the TTL (SIGSTOP), and the fleet says so", async () => {
    server = await RedisServer.start();
    site = await startCountingSite({ delayMs: 1 });
    const { pool, fleet } = await worker({ leaseTtlMs: 800, commandTimeoutMs: 250 });
    const events: string[] = [];
    (fleet as RedisFleet).on('connectionLost', () => events.push('lost'));
    fleet.on('connectionRestored', () => events.push('restored'));
    fleet.on('leaseLost', ({ sessionId }) => events.push(`leaseLost ${sessionId}`));
    const lease = await pool.acquire();
    const signal = lease.signal;
    server.pause();
    await until(() => signal.aborted, 5000);
    expect(events).toContain('lost');
    expect(events).toContain(`leaseLost ${lease.session.id}`);
    expect(signal.reason).toMatchObject({ code: 'ERR_FLEET_LEASE_LOST' });
    server.resume();
    await until(() => events.includes('restored'), 5000);
    lease.markGood();
    expect(pool.stats().fleet?.leasesLost).toBe(1);
  }, 30_000);

  it('pool.fetch and the pool dispatcher stop a fleet request when its lease is lost (Redis frozen past the TTL)', async () => {
    server = await RedisServer.start();
    site = await startCountingSite({ delayMs: 1, slowMs: 4000 });
    const { pool } = await worker({ leaseTtlMs: 800, commandTimeoutMs: 250 });
    await pool.fetch(`${site.origin}/ok`);
    const slow = pool.fetch(`${site.origin}/slow`, { maxSessionRotations: 0 });
    const outcome = slow.then(
      () => 'answered',
      (error: unknown) => error,
    );
    await until(() => site?.total === 2, 2000);
    server.pause();
    const error = await outcome;
    // Another worker could be granted the session once the TTL has run out: the request stopped (the page, 4 s
    // long, would have answered otherwise).
    expect(error).toMatchObject({ code: 'ERR_FLEET_LEASE_LOST' });
    server.resume();
    expect(pool.stats().uses.aborted).toBe(1);
    await until(() => pool.stats().fleet?.connected === true, 5000);
    // The same through the pool's dispatcher.
    await pool.fetch(`${site.origin}/ok`);
    const viaDispatcher = request(`${site.origin}/slow`, { dispatcher: pool.dispatcher }).then(
      () => 'answered',
      (failure: unknown) => failure,
    );
    const before = site.total;
    await until(() => site?.total === before + 1, 2000);
    server.pause();
    expect(await viaDispatcher).toMatchObject({ code: 'ERR_FLEET_LEASE_LOST' });
    server.resume();
  }, 30_000);

  it('an id holding a NUL (the protocol separates its arguments with one) is refused or names no session', async () => {
    server = await RedisServer.start();
    site = await startCountingSite({ delayMs: 1 });
    const a = await worker({ maxPoolSize: 2 });
    await expect(a.pool.addSession({ id: 'one\u0000two' })).rejects.toThrow(InvalidOptionError);
    await expect(a.pool.addSession({ id: 'one\u0000two' })).rejects.toThrow(/\bid\b/);
    await expect(a.pool.acquire({ session: 'one\u0000two' })).rejects.toMatchObject({
      code: 'ERR_UNKNOWN_SESSION',
    });
    // Nor can a cookie carry one into a release: a jar refuses control characters in names and paths.
    const { Cookie } = await import('tough-cookie');
    const odd = new Cookie({ key: 'odd\u0000name', value: 'x', domain: '127.0.0.1', path: '/' });
    await a.pool.withSession(async (session) => {
      await expect(session.cookieJar.store.putCookie(odd)).rejects.toThrow(/control character/);
    });
    expect((await a.fleet.fleetCounters()).live).toBe(1);
    // The release goes at the end of the turn (the grant's other reserved uses wait for this turn's requests).
    await until(async () => (await a.fleet.fleetCounters()).used === 1);
  }, 30_000);

  it('rejects a fleet together with a store, and a fleet that is not one, naming the field', () => {
    expect(() => new SessionPool({ fleet: {} as never })).toThrow(InvalidOptionError);
    expect(() => new SessionPool({ fleet: {} as never })).toThrow(/fleet/);
    expect(
      () =>
        new SessionPool({
          fleet: redisFleet({ redisUrl: 'redis://127.0.0.1:1/0' }),
          store: 'memory' as never,
        }),
    ).toThrow(/store/);
    expect(() => redisFleet({ leaseTtlMs: 5 })).toThrow(/leaseTtlMs/);
    expect(() => redisFleet({ usesPerGrant: 0 })).toThrow(InvalidOptionError);
    expect(() => redisFleet({ usesPerGrant: 2.5 })).toThrow(/usesPerGrant/);
    expect(() => redisFleet({ redisUrl: 'http://x' })).toThrow(/redisUrl/);
  });
});
