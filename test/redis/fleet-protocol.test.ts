/**
 * The fleet protocol (src/redis/fleet/) on a real redis-server: grants reserve uses exactly under concurrent
 * workers, pools on nested prefixes share nothing, a Redis that comes back empty is a new generation, a stalled
 * Redis is detected and its leases are lost, a lapsed lease counts as a use, and cookies travel as deltas.
 */
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import {
  FleetClient,
  type FleetConnectionOptions,
  type FleetGrant,
  type FleetNewSession,
} from '../../src/redis/fleet/client.js';
import { plainClient, until } from './helpers.js';
import { RedisServer, redisMissing } from './redis-server.js';

const missing = redisMissing();

let ids = 0;
function newSession(limits: { maxUsageCount: number; maxConcurrency?: number }): () => FleetNewSession {
  return () => {
    ids += 1;
    const id = `s${ids}`;
    return {
      id,
      record: JSON.stringify({ id }),
      maxUsageCount: limits.maxUsageCount,
      maxErrorScore: 1000,
      expiresAt: Date.now() + 3_600_000,
      blockedUntil: 0,
      maxConcurrency: limits.maxConcurrency ?? 1,
      minDelayMs: 0,
      errorScoreDecrement: 0.5,
    };
  };
}

function isGrant(value: unknown): value is FleetGrant {
  return typeof value === 'object' && value !== null && 'token' in value;
}

describe.skipIf(missing)('fleet protocol on a real redis-server', () => {
  let server: RedisServer | undefined;
  let plain: Redis | undefined;
  let clients: FleetClient[] = [];

  afterEach(async () => {
    server?.resume();
    await Promise.all(clients.map((client) => client.close()));
    clients = [];
    plain?.disconnect();
    await server?.close();
    plain = server = undefined;
  });

  async function open(options: Partial<FleetConnectionOptions> = {}, maxPoolSize = 5): Promise<FleetClient> {
    const client = new FleetClient({
      redisUrl: server?.url,
      keyPrefix: 'crawl:',
      leaseTtlMs: 2000,
      commandTimeoutMs: 1000,
      connectTimeoutMs: 2000,
      ...options,
    });
    client.maxPoolSize = maxPoolSize;
    clients.push(client);
    await client.open();
    return client;
  }

  it('4 workers × 6 concurrent requests: no session over maxUsageCount or maxConcurrency, uses add up, pool within maxPoolSize', async () => {
    server = await RedisServer.start();
    plain = plainClient(server.url);
    const workers = await Promise.all([1, 2, 3, 4].map(() => open({}, 5)));
    const inFlight = new Map<string, number>();
    const uses = new Map<string, number>();
    let overlaps = 0;
    let made = 0;
    let maxLive = 0;
    const target = 240;
    const lane = async (client: FleetClient) => {
      while (made < target) {
        const grant = await client.acquire({
          newSession: newSession({ maxUsageCount: 7 }),
          deadline: Date.now() + 10_000,
        });
        if (!isGrant(grant)) throw new Error(`no grant: ${grant.kind}`);
        const now = (inFlight.get(grant.sessionId) ?? 0) + 1;
        inFlight.set(grant.sessionId, now);
        if (now > 1) overlaps += 1;
        made += 1;
        uses.set(grant.sessionId, (uses.get(grant.sessionId) ?? 0) + 1);
        maxLive = Math.max(maxLive, client.liveSessions);
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 4));
        inFlight.set(grant.sessionId, now - 1);
        const result = await client.release(grant, { outcome: Math.random() < 0.2 ? 'bad' : 'good' });
        expect(result.status).toBe('ok');
      }
    };
    await Promise.all(workers.flatMap((client) => Array.from({ length: 6 }, () => lane(client))));

    expect(overlaps).toBe(0);
    for (const count of uses.values()) expect(count).toBeLessThanOrEqual(7);
    expect(maxLive).toBeLessThanOrEqual(5);
    const states = await plain.hgetall('{crawl}:st');
    let counted = 0;
    for (const [id, json] of Object.entries(states)) {
      const state = JSON.parse(json) as { u: number; f: number; r: string };
      expect(state.u, id).toBe(uses.get(id) ?? 0);
      expect(state.f).toBe(0);
      counted += state.u;
    }
    expect(counted).toBe(made);
    const meta = await plain.hgetall('{crawl}:meta');
    expect(Number(meta.used)).toBe(made);
    expect(Number(meta.live)).toBeLessThanOrEqual(5);
    // Every session that reached 7 uses retired exactly once, for that reason.
    const full = [...uses.values()].filter((count) => count === 7).length;
    expect(Number(meta['why:maxUsageCount'])).toBe(full);
    expect(Number(meta.retired)).toBe(full);
    expect(Number(meta.created) - Number(meta.retired)).toBe(Number(meta.live));
  }, 60_000);

  it('a grant touches O(1) keys: commands per grant stay flat from 5 to 500 sessions', async () => {
    server = await RedisServer.start();
    plain = plainClient(server.url);
    const commandsPerCycle = async (prefix: string, sessions: number) => {
      const client = await open({ keyPrefix: prefix }, sessions);
      const grants: FleetGrant[] = [];
      for (let i = 0; i < sessions; i += 1) {
        const grant = await client.acquire({ newSession: newSession({ maxUsageCount: 1_000_000 }) });
        if (!isGrant(grant)) throw new Error('no grant');
        grants.push(grant);
      }
      for (const grant of grants) await client.release(grant, { outcome: 'good' });
      await plain?.config('RESETSTAT');
      for (let i = 0; i < 50; i += 1) {
        const grant = await client.acquire({});
        if (!isGrant(grant)) throw new Error('no grant');
        await client.release(grant, { outcome: 'good' });
      }
      const info = (await plain?.info('commandstats')) ?? '';
      let calls = 0;
      for (const match of info.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)) {
        if (match[1] !== 'info' && match[1] !== 'config') calls += Number(match[2]);
      }
      return calls / 50;
    };
    const small = await commandsPerCycle('small:', 5);
    const large = await commandsPerCycle('large:', 500);
    expect(large).toBeLessThanOrEqual(small * 1.2);
  }, 60_000);

  it('a release rides with the acquire that follows it: one round trip and one script call per request', async () => {
    server = await RedisServer.start();
    plain = plainClient(server.url);
    const client = await open({ leaseTtlMs: 60_000 }, 1);
    let grant = await client.acquire({ newSession: newSession({ maxUsageCount: 1_000_000 }) });
    if (!isGrant(grant)) throw new Error('no grant');
    await plain.config('RESETSTAT');
    const tripsBefore = client.counters.roundTrips;
    const cycles = 40;
    for (let i = 0; i < cycles; i += 1) {
      // The pool's way: the release is not awaited before the next request asks for a session.
      const released = client.release(grant, { outcome: 'good' });
      const next = await client.acquire({});
      expect((await released).status).toBe('ok');
      if (!isGrant(next)) throw new Error('no grant');
      grant = next;
    }
    // The only session was free again for every acquire: each release reached Redis before the acquire it rode with.
    expect(client.counters.roundTrips - tripsBefore).toBe(cycles);
    const info = await plain.info('commandstats');
    // The first call of a script on a connection is an EVAL (ioredis loads it), the rest EVALSHA.
    const scriptCalls = (name: string) =>
      Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
    expect(scriptCalls('evalsha') + scriptCalls('eval')).toBe(cycles);
    // A release with no acquire after it still goes out, on its own.
    expect((await client.release(grant, { outcome: 'good' })).status).toBe('ok');
    expect(Number((await plain.hget('{crawl}:meta', 'used')) ?? 0)).toBe(cycles + 1);
  }, 30_000);

  it('nothing in Redis grows with worker restarts: 30 workers in turn leave no field of their own behind', async () => {
    server = await RedisServer.start();
    plain = plainClient(server.url);
    const sizes: number[] = [];
    for (let i = 0; i < 30; i += 1) {
      const worker = await open({}, 1);
      const grant = await worker.acquire({ newSession: newSession({ maxUsageCount: 1_000_000 }) });
      if (!isGrant(grant)) throw new Error('no grant');
      // Waits once (registered as a waiter), gives up, then releases and stops.
      expect(await worker.acquire({ deadline: Date.now() + 60 })).toEqual({ kind: 'timeout' });
      await worker.release(grant, { outcome: 'good', cookieSets: [['h;/;w', `{"w":${i}}`]] });
      await worker.close();
      clients.pop();
      const states = Object.values(await plain.hgetall('{crawl}:st')).map(
        (json) => JSON.parse(json) as { k: Record<string, number> },
      );
      for (const state of states) expect(Object.keys(state.k).length).toBeLessThanOrEqual(4);
      sizes.push((await plain.hlen('{crawl}:meta')) + (await plain.zcard('{crawl}:wait')) + states.length);
    }
    expect(Number(await plain.hget('{crawl}:meta', 'live'))).toBe(1);
    expect(await plain.zcard('{crawl}:wait')).toBe(0);
    expect(new Set(sizes.slice(5)).size).toBe(1);
  }, 60_000);

  it('nested prefixes are isolated: resetting crawl: leaves crawl:shop: whole', async () => {
    server = await RedisServer.start();
    plain = plainClient(server.url);
    const outer = await open({ keyPrefix: 'crawl:' }, 3);
    const inner = await open({ keyPrefix: 'crawl:shop:' }, 3);
    for (const client of [outer, inner]) {
      const grant = await client.acquire({ newSession: newSession({ maxUsageCount: 5 }) });
      if (!isGrant(grant)) throw new Error('no grant');
      await client.release(grant, { outcome: 'good', cookieSets: [['127.0.0.1;/;a', '{"key":"a"}']] });
    }
    await plain.set('crawl:unrelated', 'keep');
    const innerKeys = (await plain.keys('{crawl:shop}:*')).sort();
    expect(innerKeys.length).toBeGreaterThanOrEqual(5);
    await outer.reset();
    expect(await plain.keys('{crawl}:*')).toEqual([]);
    expect((await plain.keys('{crawl:shop}:*')).sort()).toEqual(innerKeys);
    expect(await plain.get('crawl:unrelated')).toBe('keep');
    // The inner pool goes on in its generation; the outer one starts a new one.
    const lost: string[] = [];
    inner.on('generationLost', (event) => lost.push(`inner ${event.previous}`));
    outer.on('generationLost', (event) => lost.push(`outer ${event.previous}`));
    const again = await inner.acquire({});
    expect(isGrant(again)).toBe(true);
    await outer.acquire({ newSession: newSession({ maxUsageCount: 5 }) });
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatch(/^outer /);
  }, 30_000);

  it('Redis restarted without persistence: a new generation, lost leases abort, nothing is resurrected, maxPoolSize holds', async () => {
    server = await RedisServer.start();
    const a = await open({ leaseTtlMs: 5000 }, 2);
    const b = await open({ leaseTtlMs: 5000 }, 2);
    const held = await a.acquire({ newSession: newSession({ maxUsageCount: 10 }) });
    if (!isGrant(held)) throw new Error('no grant');
    const other = await b.acquire({ newSession: newSession({ maxUsageCount: 10 }) });
    if (!isGrant(other)) throw new Error('no grant');
    await b.release(other, { outcome: 'good' });
    const before = a.generation;
    const events: { previous: string; leasesLost: string[] }[] = [];
    a.on('generationLost', (event) => events.push(event));

    await server.restart();
    await until(() => a.connected && b.connected, 10_000);
    // The first call of either worker finds no generation; each hears of the loss once.
    const fresh = await b.acquire({
      newSession: newSession({ maxUsageCount: 10 }),
      deadline: Date.now() + 5000,
    });
    expect(isGrant(fresh)).toBe(true);
    const result = await a.release(held, {
      outcome: 'good',
      cookieSets: [['127.0.0.1;/;old', '{"key":"old"}']],
    });
    expect(result.status).toBe('stale');
    expect(events).toEqual([{ previous: before, current: a.generation, leasesLost: [held.sessionId] }]);
    expect(held.signal.aborted).toBe(true);
    expect(a.generation).not.toBe(before);
    expect(a.generation).toBe(b.generation);

    plain = plainClient(server.url);
    // The old session was not written back; the new generation holds only what was made in it.
    expect(await plain.hexists('{crawl}:st', held.sessionId)).toBe(0);
    expect(await plain.hlen('{crawl}:jar')).toBe(0);
    const grants: FleetGrant[] = [];
    for (let i = 0; i < 3; i += 1) {
      const grant = await a.acquire({ newSession: newSession({ maxUsageCount: 10 }) });
      if (isGrant(grant)) grants.push(grant);
    }
    // b's fresh grant holds one of the two slots: one more can be made, no more.
    expect(grants).toHaveLength(1);
    expect(Number(await plain.hget('{crawl}:meta', 'live'))).toBe(2);
  }, 30_000);

  it("a stalled Redis (SIGSTOP) is detected by the command timeout; the holder's signal fires; SIGCONT restores", async () => {
    server = await RedisServer.start();
    const a = await open({ leaseTtlMs: 900, commandTimeoutMs: 300 }, 1);
    const grant = await a.acquire({ newSession: newSession({ maxUsageCount: 10 }) });
    if (!isGrant(grant)) throw new Error('no grant');
    const seen: string[] = [];
    a.on('connectionLost', () => seen.push('lost'));
    a.on('connectionRestored', () => seen.push('restored'));
    a.on('leaseLost', (id) => seen.push(`leaseLost ${id}`));

    server.pause();
    await until(() => grant.signal.aborted, 5000);
    expect(seen).toContain('lost');
    expect(seen).toContain(`leaseLost ${grant.sessionId}`);
    expect(grant.signal.reason).toMatchObject({ code: 'ERR_FLEET_LEASE_LOST', sessionId: grant.sessionId });
    server.resume();
    await until(() => seen.includes('restored'), 5000);

    // The lapsed lease was counted as a use; the session is free again for anyone.
    const b = await open({ leaseTtlMs: 900, commandTimeoutMs: 300 }, 1);
    const next = await b.acquire({ deadline: Date.now() + 3000 });
    if (!isGrant(next)) throw new Error('no grant after the stall');
    expect(next.sessionId).toBe(grant.sessionId);
    expect(next.state.u).toBe(1);
    // The late release of the lost lease changes no counter.
    const late = await a.release(grant, { outcome: 'good' });
    expect(late.status).toBe('lost');
    expect(late.state?.u).toBe(1);
  }, 30_000);

  it('a grant applied by a stalled Redis after its worker gave up is given back: no use counted, no wait for the TTL', async () => {
    server = await RedisServer.start();
    plain = plainClient(server.url);
    const a = await open({ leaseTtlMs: 10_000, commandTimeoutMs: 300 }, 1);
    const first = await a.acquire({ newSession: newSession({ maxUsageCount: 10 }) });
    if (!isGrant(first)) throw new Error('no grant');
    await a.release(first, { outcome: 'good' });
    server.pause();
    // Sent to the frozen server: no answer within commandTimeoutMs, but Redis runs it once it wakes.
    expect(await a.acquire({})).toEqual({ kind: 'timeout' });
    expect(a.connected).toBe(false);
    server.resume();
    await until(() => a.connected && a.counters.grantsGivenBack === 1, 5000);
    const b = await open({ leaseTtlMs: 10_000 }, 1);
    const next = await b.acquire({ deadline: Date.now() + 1000 });
    if (!isGrant(next)) throw new Error('the session was not given back');
    expect(next.sessionId).toBe(first.sessionId);
    expect(next.state).toMatchObject({ u: 1, f: 1 });
    expect(await plain.hget('{crawl}:meta', 'cancelled')).toBe('1');
  }, 30_000);

  it('a holder that dies: its lease lapses after the TTL and counts as a use, exactly once', async () => {
    server = await RedisServer.start();
    plain = plainClient(server.url);
    const dying = await open({ leaseTtlMs: 300 }, 1);
    const grant = await dying.acquire({ newSession: newSession({ maxUsageCount: 3 }) });
    if (!isGrant(grant)) throw new Error('no grant');
    await dying.close(); // no more renewals, no release
    const heir = await open({ leaseTtlMs: 300 }, 1);
    const started = Date.now();
    const next = await heir.acquire({ deadline: Date.now() + 5000 });
    if (!isGrant(next)) throw new Error('no grant');
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(next.sessionId).toBe(grant.sessionId);
    expect(next.state.u).toBe(1);
    await heir.release(next, { outcome: 'good' });
    const third = await heir.acquire({});
    if (!isGrant(third)) throw new Error('no grant');
    // 1 lapsed + 1 released + this one in flight = maxUsageCount 3: nothing more can be reserved.
    expect(third.state).toMatchObject({ u: 2, f: 1 });
    const none = await heir.acquire({});
    expect(none).toEqual({ kind: 'timeout' });
    await heir.release(third, { outcome: 'good' });
    const meta = await plain.hgetall('{crawl}:meta');
    expect(meta).toMatchObject({ expired: '1', used: '3', 'why:maxUsageCount': '1' });
  }, 30_000);

  it('a grant of several uses reserves them all: no one else gets them, a release counts those made, a lapse counts all', async () => {
    server = await RedisServer.start();
    plain = plainClient(server.url);
    const a = await open({ leaseTtlMs: 300 }, 1);
    const b = await open({ leaseTtlMs: 300 }, 1);
    const grant = await a.acquire({
      newSession: newSession({ maxUsageCount: 5, maxConcurrency: 3 }),
      uses: 3,
    });
    if (!isGrant(grant)) throw new Error('no grant');
    expect(grant.uses).toBe(3);
    // Concurrency 3 leaves room for more leases, but only 2 uses are left to reserve.
    const second = await b.acquire({ uses: 3 });
    if (!isGrant(second)) throw new Error('no grant');
    expect(second.uses).toBe(2);
    expect(await a.acquire({})).toEqual({ kind: 'timeout' });
    // Two of the three uses were made: they count; the third goes back.
    await a.release(grant, { outcome: ['good', 'unused', 'bad'] });
    const state = async () => JSON.parse((await plain?.hget('{crawl}:st', grant.sessionId)) ?? '{}');
    expect(await state()).toMatchObject({ u: 2, f: 1, q: 2, e: 1 });
    const third = await a.acquire({ uses: 3 });
    if (!isGrant(third)) throw new Error('no grant');
    expect(third.uses).toBe(1);
    // b dies holding two reserved uses: its lease lapses (an acquire sweeps it) and counts both.
    await b.close();
    await until(async () => {
      expect(await a.acquire({})).toEqual({ kind: 'timeout' });
      return (await state()).f === 1;
    }, 5000);
    expect(await state()).toMatchObject({ u: 4, f: 1, q: 1 });
    expect(await plain.hgetall('{crawl}:meta')).toMatchObject({ expired: '1', expiredUses: '2', used: '4' });
    await a.release(third, { outcome: 'good' });
    expect(await state()).toMatchObject({ u: 5, f: 0, q: 0, r: 'maxUsageCount' });
  }, 30_000);

  it('while any worker waits for a session, a grant reserves one use, however many were asked for', async () => {
    server = await RedisServer.start();
    plain = plainClient(server.url);
    const a = await open({}, 2);
    const first = await a.acquire({ newSession: newSession({ maxUsageCount: 20 }), uses: 4 });
    if (!isGrant(first)) throw new Error('no grant');
    expect(first.uses).toBe(4);
    // A worker registered as waiting (as one whose grant found nothing to give is).
    await plain.zadd('{crawl}:wait', Date.now() + 60_000, 'another-worker');
    const second = await a.acquire({ newSession: newSession({ maxUsageCount: 20 }), uses: 4 });
    if (!isGrant(second)) throw new Error('no grant');
    expect(second.uses).toBe(1);
    await plain.zrem('{crawl}:wait', 'another-worker');
    await a.release(second, { outcome: 'good' });
    const third = await a.acquire({ uses: 4 });
    if (!isGrant(third)) throw new Error('no grant');
    expect(third.uses).toBe(4);
  }, 30_000);

  it('a waiter is woken by the release that frees a session, not by polling', async () => {
    server = await RedisServer.start();
    const holder = await open({ leaseTtlMs: 10_000 }, 1);
    const waiter = await open({ leaseTtlMs: 10_000 }, 1);
    const idle = await open({ leaseTtlMs: 10_000 }, 1);
    const grant = await holder.acquire({ newSession: newSession({ maxUsageCount: 100 }) });
    if (!isGrant(grant)) throw new Error('no grant');
    const waiting = waiter.acquire({ deadline: Date.now() + 8000 });
    await until(async () => (await holder.connection.zcard('{crawl}:wait')) === 1, 3000);
    const released = Date.now();
    await holder.release(grant, { outcome: 'good' });
    const next = await waiting;
    if (!isGrant(next)) throw new Error('no grant');
    // The fallback poll runs every leaseTtlMs / 2 = 5 s: the grant came from the wake-up.
    expect(Date.now() - released).toBeLessThan(2000);
    expect(waiter.counters.wakeUps).toBe(1);
    expect(idle.counters.wakeUps).toBe(0);
    expect(waiter.counters.acquires).toBe(2);
  }, 30_000);

  it('cookies travel as what the worker has not seen: the whole jar first, then only the changes', async () => {
    server = await RedisServer.start();
    const a = await open({}, 1);
    const b = await open({}, 1);
    const first = await a.acquire({ newSession: newSession({ maxUsageCount: 100 }) });
    if (!isGrant(first)) throw new Error('no grant');
    expect(first.cookieMode).toBe('full');
    expect(first.record).toBe(JSON.stringify({ id: first.sessionId }));
    await a.release(first, {
      outcome: 'good',
      cookieSets: [
        ['h;/;one', '{"key":"one"}'],
        ['h;/;two', '{"key":"two"}'],
      ],
    });
    const atB = await b.acquire({});
    if (!isGrant(atB)) throw new Error('no grant');
    expect(atB.cookieMode).toBe('full');
    expect([...atB.cookies].sort()).toEqual([
      ['h;/;one', '{"key":"one"}'],
      ['h;/;two', '{"key":"two"}'],
    ]);
    await b.release(atB, {
      outcome: 'good',
      cookieSets: [['h;/;two', '{"key":"two","v":2}']],
      cookieDels: ['h;/;one'],
    });
    const again = await a.acquire({});
    if (!isGrant(again)) throw new Error('no grant');
    expect(again.cookieMode).toBe('delta');
    expect(again.record).toBeUndefined();
    expect([...again.cookies].sort()).toEqual([
      ['h;/;one', ''],
      ['h;/;two', '{"key":"two","v":2}'],
    ]);
    await a.release(again, { outcome: 'good' });
    // a's own writes do not come back to it.
    const own = await a.acquire({});
    if (!isGrant(own)) throw new Error('no grant');
    expect(own.cookieMode).toBe('none');
    expect(own.cookies).toEqual([]);
  }, 30_000);
});
