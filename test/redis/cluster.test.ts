/**
 * The fleet protocol on a real 3-master Redis Cluster started by the test (`redis-server --cluster-enabled yes`
 * three times and `redis-cli --cluster create`): every script declares its keys, and each pool lives in the slot
 * of its hash tag, so pools on different prefixes may sit on different masters and still work.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Session, SessionPool } from '../../src/index.js';
import { FleetClient, type FleetGrant } from '../../src/redis/fleet/client.js';
import { redisFleet } from '../../src/redis/index.js';
import { MARKER, startCountingSite } from '../acquisition/counting-site.js';
import { RedisCluster, redisMissing } from './redis-server.js';

const missing = redisMissing();

function isGrant(value: unknown): value is FleetGrant {
  return typeof value === 'object' && value !== null && 'token' in value;
}

describe.skipIf(missing)('fleet protocol on a 3-master Redis Cluster', () => {
  let cluster: RedisCluster | undefined;
  const clients: FleetClient[] = [];

  beforeAll(async () => {
    cluster = await RedisCluster.start();
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await cluster?.close();
  });

  async function open(keyPrefix: string): Promise<FleetClient> {
    const client = new FleetClient({
      clusterNodes: cluster?.nodes,
      keyPrefix,
      leaseTtlMs: 2000,
      commandTimeoutMs: 2000,
      connectTimeoutMs: 5000,
    });
    client.maxPoolSize = 3;
    clients.push(client);
    await client.open();
    return client;
  }

  it('two workers per pool, a pool on each master: exact limits, wake-ups, cookie hand-over', async () => {
    // One prefix per master (up to three): the test is not running on one node in disguise.
    const byOwner = new Map<number | undefined, string>();
    for (const prefix of ['a:', 'b:', 'c:', 'd:', 'e:', 'f:', 'g:', 'h:']) {
      const owner = cluster?.portOf(`{${prefix.slice(0, -1)}}:meta`);
      if (!byOwner.has(owner)) byOwner.set(owner, prefix);
    }
    expect(byOwner.size).toBeGreaterThan(1);
    let n = 0;
    for (const prefix of byOwner.values()) {
      const [a, b] = [await open(prefix), await open(prefix)];
      const uses = new Map<string, number>();
      const inFlight = new Map<string, number>();
      let overlap = 0;
      const lane = async (client: FleetClient) => {
        for (let i = 0; i < 15; i += 1) {
          const grant = await client.acquire({
            newSession: () => {
              n += 1;
              return newSessionSpec(`${prefix}${n}`);
            },
            deadline: Date.now() + 10_000,
          });
          if (!isGrant(grant)) throw new Error(`no grant: ${grant.kind}`);
          uses.set(grant.sessionId, (uses.get(grant.sessionId) ?? 0) + 1);
          const now = (inFlight.get(grant.sessionId) ?? 0) + 1;
          inFlight.set(grant.sessionId, now);
          if (now > 1) overlap += 1;
          await new Promise((resolve) => setTimeout(resolve, 2));
          inFlight.set(grant.sessionId, now - 1);
          await client.release(grant, { outcome: 'good', cookieSets: [['h;/;k', `{"i":${i}}`]] });
        }
      };
      await Promise.all([a, a, b, b].map((client) => lane(client)));
      expect(overlap).toBe(0);
      for (const count of uses.values()) expect(count).toBeLessThanOrEqual(4);
      expect([...uses.values()].reduce((sum, count) => sum + count, 0)).toBe(60);
      const counters = await a.fleetCounters();
      expect(counters.used).toBe(60);
      expect(counters.live).toBeLessThanOrEqual(3);
      expect(counters.retired).toBe([...uses.values()].filter((count) => count === 4).length);
    }
  }, 60_000);

  it('reset deletes one pool and nothing of another, on the cluster too', async () => {
    const outer = await open('crawl:');
    const inner = await open('crawl:shop:');
    for (const client of [outer, inner]) {
      const grant = await client.acquire({
        newSession: () => newSessionSpec(`reset-${client.keys.tag}`),
      });
      if (!isGrant(grant)) throw new Error('no grant');
      await client.release(grant, { outcome: 'good' });
    }
    await outer.reset();
    expect(await outer.fleetCounters()).toEqual({});
    expect((await inner.fleetCounters()).used).toBe(1);
  }, 30_000);

  it('SessionPool with redisFleet({ clusterNodes }): two pools crawl with exact per-session counts', async () => {
    const site = await startCountingSite({ delayMs: 2 });
    const pools = await Promise.all(
      [1, 2].map(() =>
        SessionPool.open({
          fleet: redisFleet({ clusterNodes: cluster?.nodes, keyPrefix: 'pool:', leaseTtlMs: 3000 }),
          maxPoolSize: 3,
          maxConcurrencyPerSession: 1,
          sessionOptions: { maxUsageCount: 6 },
          initSession: (session: Session) => session.setCookie(`${MARKER}=${session.id}`, site.origin),
        }),
      ),
    );
    try {
      let made = 0;
      const lane = async (pool: SessionPool) => {
        while (made < 40) {
          made += 1;
          expect((await pool.fetch(`${site.origin}/ok`)).statusCode).toBe(200);
        }
      };
      await Promise.all([...pools, ...pools].map(lane));
      await Promise.all(pools.map((pool) => pool.teardown()));
      const client = new FleetClient({
        clusterNodes: cluster?.nodes,
        keyPrefix: 'pool:',
        leaseTtlMs: 2000,
        commandTimeoutMs: 2000,
        connectTimeoutMs: 5000,
      });
      clients.push(client);
      await client.open();
      const states = (await client.connection.hgetall('{pool}:st')) as Record<string, string>;
      let usage = 0;
      for (const [id, json] of Object.entries(states)) {
        const state = JSON.parse(json) as { u: number };
        expect(site.count(id), id).toBe(state.u);
        expect(state.u).toBeLessThanOrEqual(6);
        expect(site.maxInFlight(id)).toBeLessThanOrEqual(1);
        usage += state.u;
      }
      expect(usage).toBe(40);
      expect(site.total).toBe(40);
      expect(site.unmarked).toBe(0);
    } finally {
      await Promise.all(pools.map((pool) => pool.teardown()));
      await site.close();
    }
  }, 60_000);
});

/** A new session for the protocol: 4 uses, one request at a time, a minute to live. */
function newSessionSpec(id: string) {
  return {
    id,
    record: '{}',
    maxUsageCount: 4,
    maxErrorScore: 10,
    expiresAt: Date.now() + 60_000,
    blockedUntil: 0,
    maxConcurrency: 1,
    minDelayMs: 0,
    errorScoreDecrement: 0.5,
  };
}
