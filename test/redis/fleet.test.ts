/**
 * The fleet: worker processes sharing one pool through a real redis-server, crawling the bundled test site.
 */
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSharedPool, type SharedSessionPool } from '../../src/redis/index.js';
import { NO_FAULTS, startTestSite, type TestSite } from '../../src/testing/index.js';
import { plainClient, sessionHashes, spawnWorker, until, type Worker } from './helpers.js';
import { RedisServer, redisMissing } from './redis-server.js';

const missing = redisMissing();

/** A site that never bans (so every request is a use: a good page or a 5xx), with some 5xx and redirects. */
const SITE = {
  ...NO_FAULTS,
  errorRate: 0.05,
  slowRate: 0.02,
  slowMs: 30,
};

describe.skipIf(missing)('a fleet of workers on one Redis pool', () => {
  let server: RedisServer | undefined;
  let site: TestSite | undefined;
  let client: Redis | undefined;
  let workers: Worker[] = [];
  let pools: SharedSessionPool[] = [];

  beforeEach(async () => {
    workers = [];
    pools = [];
  });

  afterEach(async () => {
    for (const worker of workers) if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
    await Promise.all(workers.map((worker) => worker.exit));
    for (const pool of pools) await pool.teardown().catch(() => {});
    client?.disconnect();
    await site?.close();
    await server?.close();
    client = site = server = undefined;
  });

  const expectClean = (worker: Worker, code: number | null) => {
    const errors = worker.lines.filter((line) => line.t === 'error');
    expect(errors, worker.stderr).toEqual([]);
    expect(code, worker.stderr).toBe(0);
  };

  it('4 workers, 20 shared sessions: leases within maxConcurrency, usage adds up, every worker hears every retirement once', async () => {
    server = await RedisServer.start();
    site = await startTestSite(SITE);
    client = plainClient(server.url);
    const prefix = 'fleet:';
    const base = {
      redisUrl: server.url,
      keyPrefix: prefix,
      siteUrl: site.url,
      requests: 110,
      concurrency: 6,
      workers: 4,
      maxPoolSize: 20,
      maxUsageCount: 12,
      maxConcurrency: 2,
      leaseTtlMs: 2000,
      setCookies: false,
    };
    workers = ['A', 'B', 'C', 'D'].map((name) => spawnWorker({ ...base, name }));
    const codes = await Promise.all(workers.map((worker) => worker.exit));
    workers.forEach((worker, index) => {
      expectClean(worker, codes[index] ?? null);
    });

    // No session was ever held by more than maxConcurrency workers' requests at once.
    for (const worker of workers) {
      expect(worker.lines.filter((line) => line.t === 'overlap')).toEqual([]);
      const done = worker.lines.find((line) => line.t === 'done');
      expect(done?.maxInUse).toBeLessThanOrEqual(2);
    }
    // Some session was used by two requests at once somewhere: the limit was exercised, not idle.
    expect(Math.max(...workers.map((w) => w.lines.find((l) => l.t === 'done')?.maxInUse ?? 0))).toBe(2);

    // Usage counts in Redis add up exactly to the requests the workers made, and none passed its limit.
    const made = workers.reduce((sum, w) => sum + (w.lines.find((l) => l.t === 'done')?.made ?? 0), 0);
    expect(made).toBeGreaterThan(400);
    const hashes = await sessionHashes(client, prefix);
    let usage = 0;
    for (const hash of hashes.values()) {
      usage += Number(hash.u);
      expect(Number(hash.u)).toBeLessThanOrEqual(12);
    }
    expect(usage).toBe(made);

    // The fleet kept at most 20 live sessions, and retired each used-up one exactly once.
    expect(await client.scard(`${prefix}live`)).toBeLessThanOrEqual(20);
    const retired = await client.zrange(`${prefix}retired`, 0, -1);
    expect(retired.length).toBeGreaterThan(15);
    expect(Number(await client.hget(`${prefix}meta`, 'retiredCount'))).toBe(retired.length);
    for (const id of retired) expect(hashes.get(id)?.reason).toBe('maxUsageCount');
    for (const worker of workers) {
      const heard = worker.lines.filter((line) => line.t === 'retired').map((line) => line.id);
      expect(new Set(heard).size).toBe(heard.length);
      expect([...heard].sort()).toEqual([...retired].sort());
    }
  }, 90_000);

  it('a worker killed with SIGKILL: its leases come back after the TTL, and no cookie it wrote is lost', async () => {
    server = await RedisServer.start();
    site = await startTestSite({ ...SITE, errorRate: 0, slowRate: 1, slowMs: 60 });
    client = plainClient(server.url);
    const prefix = 'killed:';
    const leaseTtlMs = 1500;
    const worker = spawnWorker({
      name: 'K',
      redisUrl: server.url,
      keyPrefix: prefix,
      siteUrl: site.url,
      requests: 0,
      concurrency: 4,
      workers: 1,
      maxPoolSize: 4,
      maxUsageCount: 100_000,
      maxConcurrency: 1,
      leaseTtlMs,
      setCookies: true,
    });
    workers = [worker];
    await until(() => worker.lines.filter((line) => line.t === 'req').length >= 24);
    worker.child.kill('SIGKILL');
    await worker.exit;
    const acknowledged = worker.lines.filter((line) => line.t === 'req');
    const ids = [...new Set(acknowledged.map((line) => line.id as string))].sort();
    expect(ids).toHaveLength(4);

    // Right after the kill, the dead worker still holds leases in Redis.
    const [seconds, micros] = await client.time();
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    let held = 0;
    for (const id of ids) held += await client.zcount(`${prefix}l:${id}`, now, '+inf');
    expect(held).toBeGreaterThan(0);

    // A new worker gets all four sessions back once the TTL has run out; nothing new had to be created.
    const pool = await createSharedPool({
      redisUrl: server.url,
      keyPrefix: prefix,
      maxPoolSize: 4,
      leaseTtlMs,
      sessionWaitTimeoutMs: 10_000,
    });
    pools.push(pool);
    const leases = await Promise.all(ids.map(() => pool.acquire()));
    expect(leases.map((lease) => lease.session.id).sort()).toEqual(ids);
    expect(Number(await client.hget(`${prefix}meta`, 'createdCount'))).toBe(4);

    // Every cookie set before an acknowledged request is in the session's jar, and so is the site's sid.
    for (const lease of leases) {
      const names = new Set(
        lease.session.getCookies(site.url).map((cookie) => `${cookie.name}=${cookie.value}`),
      );
      const mine = acknowledged.filter((line) => line.id === lease.session.id);
      for (const line of mine) expect(names.has(`${line.cookie}=1`), `${line.cookie} lost`).toBe(true);
      const lastSid = mine.at(-1)?.sid;
      expect(lastSid).toBeTruthy();
      expect(names.has(`sid=${lastSid}`)).toBe(true);
    }
    await Promise.all(leases.map((lease) => lease.release()));
  }, 60_000);

  it('Redis restarted mid-crawl: the workers pause, reconnect, finish, and lose no update', async () => {
    server = await RedisServer.start({ persistent: true });
    site = await startTestSite(SITE);
    client = plainClient(server.url);
    const prefix = 'restart:';
    let requestsSeen = 0;
    const base = {
      redisUrl: server.url,
      keyPrefix: prefix,
      siteUrl: site.url,
      requests: 90,
      concurrency: 3,
      workers: 2,
      maxPoolSize: 6,
      maxUsageCount: 8,
      maxConcurrency: 2,
      leaseTtlMs: 5000,
      setCookies: false,
    };
    workers = ['R1', 'R2'].map((name) =>
      spawnWorker({ ...base, name }, (line) => {
        if (line.t === 'req') requestsSeen += 1;
      }),
    );
    await until(() => requestsSeen >= 40);
    client.disconnect();
    await server.restart(300);
    const atRestart = requestsSeen;
    const codes = await Promise.all(workers.map((worker) => worker.exit));
    workers.forEach((worker, index) => {
      expectClean(worker, codes[index] ?? null);
    });
    expect(requestsSeen).toBeGreaterThan(atRestart);
    for (const worker of workers) {
      expect(worker.lines.some((line) => line.t === 'lost')).toBe(true);
      expect(worker.lines.some((line) => line.t === 'restored')).toBe(true);
    }

    client = plainClient(server.url);
    const made = workers.reduce((sum, w) => sum + (w.lines.find((l) => l.t === 'done')?.made ?? 0), 0);
    const hashes = await sessionHashes(client, prefix);
    let usage = 0;
    for (const hash of hashes.values()) usage += Number(hash.u);
    expect(usage).toBe(made);
    const retired = await client.zrange(`${prefix}retired`, 0, -1);
    for (const worker of workers) {
      const heard = worker.lines.filter((line) => line.t === 'retired').map((line) => line.id);
      expect([...heard].sort()).toEqual([...retired].sort());
    }
  }, 90_000);
});
