/**
 * Fleets of worker processes, each a `SessionPool` with `fleet: redisFleet(…)`, crawling a local site that counts
 * requests per session by a marker cookie, on a real redis-server the test starts: exact totals under load, a
 * SIGKILLed worker, Redis restarted with and without its append-only file, Redis frozen (SIGSTOP) past the TTL.
 */
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { FleetClient } from '../../src/redis/fleet/client.js';
import { type CountingSite, startCountingSite } from '../acquisition/counting-site.js';
import { type FleetWorker, fleetStates, plainClient, spawnFleetWorker, until } from './helpers.js';
import { RedisServer, redisMissing } from './redis-server.js';

const missing = redisMissing();
const TAG = '{fleet}';

describe.skipIf(missing)('worker processes sharing one fleet pool', () => {
  let server: RedisServer | undefined;
  let site: CountingSite | undefined;
  let plain: Redis | undefined;
  let workers: FleetWorker[] = [];

  afterEach(async () => {
    server?.resume();
    for (const worker of workers) if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
    await Promise.all(workers.map((worker) => worker.exit));
    workers = [];
    plain?.disconnect();
    await site?.close();
    await server?.close();
    plain = site = server = undefined;
  });

  const config = (overrides: Record<string, unknown> = {}) => ({
    redisUrl: server?.url,
    keyPrefix: 'fleet:',
    origin: site?.origin,
    requests: 100,
    lanes: 4,
    maxPoolSize: 10,
    maxUsageCount: 8,
    leaseTtlMs: 3000,
    commandTimeoutMs: 1000,
    ...overrides,
  });

  const expectClean = async (list: FleetWorker[]) => {
    const codes = await Promise.all(list.map((worker) => worker.exit));
    list.forEach((worker, index) => {
      expect(
        worker.lines.filter((line) => line.t === 'error'),
        worker.stderr,
      ).toEqual([]);
      expect(codes[index], worker.stderr).toBe(0);
    });
  };

  /** Runs one acquire so that Redis sweeps leases that lapsed (a dead worker's). */
  const sweep = async () => {
    const client = new FleetClient({
      redisUrl: server?.url,
      keyPrefix: 'fleet:',
      leaseTtlMs: 1000,
      commandTimeoutMs: 2000,
      connectTimeoutMs: 2000,
    });
    await client.open();
    const grant = await client.acquire({});
    if ('token' in grant) await client.release(grant, { outcome: 'unused' });
    await client.close();
  };

  it('4 workers × 4 lanes, 400 requests: requests = sum of usage counts, limits hold, cookies stay with their session, each retirement heard once', async () => {
    server = await RedisServer.start();
    site = await startCountingSite({ delayMs: 3 });
    plain = plainClient(server.url);
    workers = [1, 2, 3, 4].map(() => spawnFleetWorker(config({ workers: 4 })));
    await expectClean(workers);
    const made = workers.reduce(
      (sum, worker) => sum + (worker.lines.find((l) => l.t === 'done')?.made ?? 0),
      0,
    );
    expect(made).toBe(400);
    expect(site.total).toBe(400);
    expect(site.unmarked).toBe(0);
    expect(site.mismatches).toBe(0);
    const states = await fleetStates(plain, TAG);
    let usage = 0;
    for (const [id, state] of states) {
      expect(state.u, id).toBeLessThanOrEqual(8);
      expect(site.count(id), id).toBe(state.u);
      expect(site.maxInFlight(id), id).toBeLessThanOrEqual(1);
      expect(state.f).toBe(0);
      usage += state.u;
    }
    expect(usage).toBe(400);
    const meta = await plain.hgetall(`${TAG}:meta`);
    expect(Number(meta.live)).toBeLessThanOrEqual(10);
    expect(Number(meta.used)).toBe(400);
    const retiredInRedis = [...states].filter(([, state]) => state.r !== '').map(([id]) => id);
    expect(Number(meta.retired)).toBe(retiredInRedis.length);
    for (const worker of workers) {
      const heard = worker.lines.filter((line) => line.t === 'retired').map((line) => line.id as string);
      expect(new Set(heard).size, 'a worker heard a retirement twice').toBe(heard.length);
      for (const id of heard) expect(states.get(id)?.r, id).not.toBe('');
    }
  }, 120_000);

  it('a worker SIGKILLed mid-crawl: its in-flight uses are counted when their leases lapse; no session serves past maxUsageCount', async () => {
    server = await RedisServer.start();
    site = await startCountingSite({ delayMs: 5 });
    plain = plainClient(server.url);
    const victim = spawnFleetWorker(config({ requests: 0, leaseTtlMs: 1500, workers: 4 }));
    const others = [1, 2, 3].map(() =>
      spawnFleetWorker(config({ requests: 60, leaseTtlMs: 1500, workers: 4 })),
    );
    workers = [victim, ...others];
    // The fault comes once every worker has joined (a worker still connecting would fail to open).
    await until(() => workers.every((worker) => worker.count('ready') === 1), 60_000);
    await until(() => site !== undefined && site.total >= 60, 60_000);
    victim.child.kill('SIGKILL');
    await victim.exit;
    await expectClean(others);
    await new Promise((resolve) => setTimeout(resolve, 1600));
    await sweep();
    const states = await fleetStates(plain, TAG);
    let usage = 0;
    for (const [id, state] of states) {
      expect(site.count(id), id).toBeLessThanOrEqual(state.u);
      expect(state.u, id).toBeLessThanOrEqual(8);
      expect(state.f, id).toBe(0);
      usage += state.u;
    }
    const meta = await plain.hgetall(`${TAG}:meta`);
    console.info(
      `[fleet] SIGKILL: ${meta.expired ?? 0} leases of the dead worker lapsed and counted (${meta.expiredUses ?? 0} reserved uses); Redis counted ${usage}, the site saw ${site.total}`,
    );
    // What the site saw and Redis counted differ only by the dead worker's lapsed leases (at most its 4 lanes),
    // each counted with all the uses it reserved (at most usesPerGrant, 10 by default).
    expect(usage - site.total).toBeLessThanOrEqual(Number(meta.expiredUses ?? 0));
    expect(Number(meta.expired ?? 0)).toBeLessThanOrEqual(4);
    expect(Number(meta.expiredUses ?? 0)).toBeLessThanOrEqual(4 * 10);
    expect(Number(meta.expiredUses ?? 0)).toBeGreaterThanOrEqual(Number(meta.expired ?? 0));
    expect(site.mismatches).toBe(0);
    expect(site.unmarked).toBe(0);
  }, 120_000);

  it('Redis restarted with its append-only file: the workers pause, go on, and every use is counted', async () => {
    server = await RedisServer.start({ persistent: true });
    site = await startCountingSite({ delayMs: 3 });
    workers = [1, 2].map(() => spawnFleetWorker(config({ requests: 80, workers: 2 })));
    // The fault comes once every worker has joined (a worker still connecting would fail to open).
    await until(() => workers.every((worker) => worker.count('ready') === 1), 60_000);
    await until(() => site !== undefined && site.total >= 40, 60_000);
    await server.restart(300);
    await expectClean(workers);
    plain = plainClient(server.url);
    for (const worker of workers) {
      expect(worker.count('lost')).toBeGreaterThan(0);
      expect(worker.count('restored')).toBeGreaterThan(0);
      expect(worker.count('stateLost')).toBe(0);
      expect(worker.lines.find((line) => line.t === 'done')?.failed).toBe(0);
    }
    const states = await fleetStates(plain, TAG);
    let usage = 0;
    for (const [id, state] of states) {
      expect(site.count(id), id).toBeLessThanOrEqual(state.u);
      expect(state.u, id).toBeLessThanOrEqual(8);
      usage += state.u;
    }
    const meta = await plain.hgetall(`${TAG}:meta`);
    // A grant sent just before the restart may have been applied with its answer lost: it lapses, counted.
    expect(usage).toBeGreaterThanOrEqual(site.total);
    expect(usage - site.total).toBeLessThanOrEqual(Number(meta.expired ?? 0));
    expect(site.total).toBe(160);
  }, 120_000);

  it('Redis restarted without persistence: every worker hears stateLost once, no session comes back, maxPoolSize holds', async () => {
    server = await RedisServer.start();
    site = await startCountingSite({ delayMs: 3 });
    plain = plainClient(server.url);
    workers = [1, 2].map(() => spawnFleetWorker(config({ requests: 80, workers: 2 })));
    // The fault comes once every worker has joined (a worker still connecting would fail to open).
    await until(() => workers.every((worker) => worker.count('ready') === 1), 60_000);
    await until(() => site !== undefined && site.total >= 40, 60_000);
    const before = new Set(Object.keys(await plain.hgetall(`${TAG}:st`)));
    plain.disconnect();
    await server.restart(200);
    await expectClean(workers);
    plain = plainClient(server.url);
    for (const worker of workers) expect(worker.count('stateLost')).toBe(1);
    const states = await fleetStates(plain, TAG);
    for (const id of states.keys()) expect(before.has(id), `${id} was resurrected`).toBe(false);
    for (const id of site.markers()) expect(site.count(id), id).toBeLessThanOrEqual(8);
    const meta = await plain.hgetall(`${TAG}:meta`);
    expect(Number(meta.live)).toBeLessThanOrEqual(10);
    expect(site.unmarked).toBe(0);
    expect(site.mismatches).toBe(0);
    const failed = workers.reduce(
      (sum, worker) => sum + (worker.lines.find((l) => l.t === 'done')?.failed ?? 0),
      0,
    );
    console.info(
      `[fleet] restart without persistence: ${failed} requests failed (leases lost with the state)`,
    );
  }, 120_000);

  it("Redis frozen (SIGSTOP) past the lease TTL: holders' signals fire, limits hold; two holders of one session are measured", async () => {
    server = await RedisServer.start();
    // Each page takes longer than the lease TTL plus a renewal period (1 s + 333 ms): leases live on renewals,
    // and a request that began just before the stall is still in flight when its holder finds the lease lost.
    site = await startCountingSite({ delayMs: 2000 });
    plain = plainClient(server.url);
    workers = [1, 2, 3].map(() =>
      spawnFleetWorker(config({ requests: 16, leaseTtlMs: 1000, commandTimeoutMs: 300, workers: 3 })),
    );
    // The fault comes once every worker has joined (a worker still connecting would fail to open).
    await until(() => workers.every((worker) => worker.count('ready') === 1), 60_000);
    // The stall begins as the second wave of requests arrives: their leases were granted just before.
    await until(() => site !== undefined && site.total >= 20, 60_000);
    server.pause();
    await new Promise((resolve) => setTimeout(resolve, 2500));
    server.resume();
    await expectClean(workers);
    const leaseLost = workers.reduce((sum, worker) => sum + worker.count('leaseLost'), 0);
    const failed = workers.reduce((sum, worker) => sum + worker.count('fail'), 0);
    expect(leaseLost).toBeGreaterThan(0);
    for (const worker of workers) expect(worker.count('lost')).toBeGreaterThan(0);
    const states = await fleetStates(plain, TAG);
    for (const [id, state] of states) {
      expect(site.count(id), id).toBeLessThanOrEqual(state.u + state.f);
      expect(state.u + state.f, id).toBeLessThanOrEqual(8);
    }
    const overlapping = site.markers().filter((id) => site !== undefined && site.maxInFlight(id) > 1);
    const meta = await plain.hgetall(`${TAG}:meta`);
    console.info(
      `[fleet] SIGSTOP 2.5 s, TTL 1 s, pages of 2 s: ${leaseLost} leases lost (signals fired), ${failed} requests aborted; ${overlapping.length} of ${site.markers().length} sessions seen with two requests in flight at the site; ${meta.expired ?? 0} leases lapsed, ${meta.cancelled ?? 0} grants nobody received given back; ${site.total} requests at the site for ${meta.used} uses counted`,
    );
    expect(site.mismatches).toBe(0);
  }, 120_000);
});
