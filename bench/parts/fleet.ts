/**
 * Part `fleet`: a fleet of 1, 2 and 4 worker processes, each a `SessionPool` with `fleet: redisFleet(…)`, on a
 * real redis-server this part starts, crawling the bench's test site (in its own process); side by side, in the
 * same run, one in-memory `SessionPool` crawling the same site with the same options. Rows (contender `ours`):
 * - `fleet.memory.rps`: the in-memory pool, req/s;
 * - `fleet.rps@N`: the fleet of N workers, req/s (all workers' requests over the time from go to the last done);
 * - `fleet.ratio@N`: that ÷ the in-memory pool's req/s of the same round;
 * - `fleet.cpu@N`: client CPU time per request, summed over the workers (µs);
 * - `fleet.roundtrips@N` and `fleet.commands@N`: Redis round trips per request (the workers' count) and commands
 *   per request that Redis executed (INFO commandstats, script-internal commands included).
 * Workload: `maxPoolSize` 50, `maxUsageCount` 20, `maxConcurrencyPerSession` 1, lease TTL 3 s, 10 requests in
 * flight per process; the site wants its session cookie and sends 10% of links through cookie-setting redirects.
 *
 * This file is also the worker (`FLEET_BENCH_WORKER=1`): it opens its pool, says `READY`, waits for `GO` on
 * stdin, crawls, and prints `DONE <json>`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { RedisServer } from '../../test/redis/redis-server.js';
import { NO_FAULTS, SessionPool } from '../lib/library.js';
import { addSample, newRow, type Part, type Row } from '../lib/protocol.js';

const SITE_OPTIONS = { seed: 7, pages: 5000, ...NO_FAULTS, redirectRate: 0.1, requireCookies: true };
const POOL_OPTIONS = {
  maxPoolSize: 50,
  maxConcurrencyPerSession: 1,
  sessionOptions: { maxUsageCount: 20, maxErrorScore: 1_000_000 },
  sessionWaitTimeoutMs: 60_000,
};
const LANES = 10;
const LEASE_TTL_MS = 3000;

interface WorkerResult {
  made: number;
  cpuMicros: number;
  roundTrips: number;
}

/** Crawls `requests` pages with `LANES` in flight; returns how many were made. */
async function crawl(pool: SessionPool, siteUrl: string, requests: number): Promise<number> {
  let next = 0;
  let made = 0;
  const lane = async () => {
    while (next < requests) {
      const k = next++;
      try {
        await pool.fetch(`${siteUrl}/page/${k % 5000}`);
        made += 1;
      } catch {
        // A failed page still used the pool; only completed pages are counted as throughput.
      }
    }
  };
  await Promise.all(Array.from({ length: LANES }, lane));
  return made;
}

/** The untimed crawl before each measured one. */
function warmUpRequests(requests: number): number {
  return Math.max(50, Math.floor(requests / 5));
}

async function redisEntry(): Promise<typeof import('../../src/redis/index.js')> {
  const entry = process.env.BENCH_LIB;
  return entry ? import(entry.replace(/index\.js$/, 'redis/index.js')) : import('../../src/redis/index.js');
}

async function workerMain(): Promise<void> {
  const config = JSON.parse(process.env.FLEET_BENCH_CONFIG ?? '{}') as {
    redisUrl: string;
    keyPrefix: string;
    siteUrl: string;
    requests: number;
  };
  const { redisFleet } = await redisEntry();
  const pool = await SessionPool.open({
    ...POOL_OPTIONS,
    fleet: redisFleet({ redisUrl: config.redisUrl, keyPrefix: config.keyPrefix, leaseTtlMs: LEASE_TTL_MS }),
  });
  // Warmed up like the in-memory pool (JIT, connections, Redis's script cache), before the measured crawl.
  await crawl(pool, config.siteUrl, warmUpRequests(config.requests));
  process.stdout.write('READY\n');
  await new Promise<void>((resolve) => {
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk: string) => {
      if (chunk.includes('GO')) resolve();
    });
  });
  const before = process.cpuUsage();
  const tripsBefore = pool.stats().fleet?.roundTrips ?? 0;
  const made = await crawl(pool, config.siteUrl, config.requests);
  const cpu = process.cpuUsage(before);
  const result: WorkerResult = {
    made,
    cpuMicros: cpu.user + cpu.system,
    roundTrips: (pool.stats().fleet?.roundTrips ?? 0) - tripsBefore,
  };
  process.stdout.write(`DONE ${JSON.stringify(result)}\n`);
  await pool.teardown();
  process.exit(0);
}

function lines(child: ChildProcess, onLine: (line: string) => void): void {
  let buffer = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    buffer += chunk;
    for (let i = buffer.indexOf('\n'); i !== -1; i = buffer.indexOf('\n')) {
      onLine(buffer.slice(0, i));
      buffer = buffer.slice(i + 1);
    }
  });
}

async function startSite(): Promise<{ url: string; stop(): void }> {
  const script = fileURLToPath(new URL('../lib/site-process.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(SITE_OPTIONS)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    lines(child, (line) => {
      const match = /SITE_URL (\S+)/.exec(line);
      if (match) resolve(match[1] as string);
    });
    child.on('exit', (code) => reject(new Error(`test site exited (${code}) before listening`)));
  });
  return { url, stop: () => child.stdin?.end() };
}

/** Runs N workers to completion; returns their results and the wall time from GO to the last DONE. */
async function runFleet(
  workers: number,
  config: { redisUrl: string; keyPrefix: string; siteUrl: string; requests: number },
  beforeGo: () => Promise<void>,
): Promise<{ results: WorkerResult[]; wallMs: number }> {
  const self = fileURLToPath(import.meta.url);
  const children = Array.from({ length: workers }, () =>
    spawn(process.execPath, ['--import', 'tsx', self], {
      env: { ...process.env, FLEET_BENCH_WORKER: '1', FLEET_BENCH_CONFIG: JSON.stringify(config) },
      stdio: ['pipe', 'pipe', 'inherit'],
    }),
  );
  const ready: Promise<void>[] = [];
  const done: Promise<WorkerResult>[] = [];
  for (const child of children) {
    let onReady: () => void = () => {};
    let onDone: (result: WorkerResult) => void = () => {};
    ready.push(new Promise((resolve) => (onReady = resolve)));
    done.push(
      new Promise((resolve, reject) => {
        onDone = resolve;
        child.once('exit', (code) => {
          if (code !== 0) reject(new Error(`fleet worker exited with ${code}`));
        });
      }),
    );
    lines(child, (line) => {
      if (line === 'READY') onReady();
      else if (line.startsWith('DONE ')) onDone(JSON.parse(line.slice(5)) as WorkerResult);
    });
  }
  await Promise.all(ready);
  await beforeGo();
  const started = performance.now();
  for (const child of children) child.stdin?.write('GO\n');
  const results = await Promise.all(done);
  const wallMs = performance.now() - started;
  await Promise.all(
    children.map(
      (child) =>
        new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(null))),
    ),
  );
  return { results, wallMs };
}

async function redisCommands(server: RedisServer): Promise<number> {
  const { Redis } = await import('ioredis');
  const client = new Redis(server.url);
  const info = await client.info('commandstats');
  client.disconnect();
  let calls = 0;
  for (const match of info.matchAll(/^cmdstat_([\w|]+):calls=(\d+)/gm)) {
    if (
      !['info', 'config', 'config|resetstat', 'client|setname', 'hello', 'ping', 'select'].includes(
        match[1] as string,
      )
    )
      calls += Number(match[2]);
  }
  return calls;
}

async function resetStats(server: RedisServer): Promise<void> {
  const { Redis } = await import('ioredis');
  const client = new Redis(server.url);
  await client.config('RESETSTAT');
  client.disconnect();
}

export const run: Part = async ({ quick, args }) => {
  const rounds = Number(args.rounds ?? (quick ? 1 : 3));
  const requests = Number(args.requests ?? (quick ? 300 : 3000));
  const sizes = [1, 2, 4];
  const memory = newRow(
    'fleet.memory.rps',
    'fleet: one in-memory SessionPool, same crawl',
    'req/s',
    'higher',
  );
  const rows: Row[] = [memory];
  const perSize = new Map<number, { rps: Row; ratio: Row; cpu: Row; trips: Row; commands: Row }>();
  for (const n of sizes) {
    const set = {
      rps: newRow(`fleet.rps@${n}`, `fleet of ${n} worker process(es) on one Redis`, 'req/s', 'higher'),
      ratio: newRow(`fleet.ratio@${n}`, `fleet of ${n} ÷ in-memory pool, req/s`, '×', 'higher'),
      cpu: newRow(`fleet.cpu@${n}`, `fleet of ${n}: client CPU per request (all workers)`, 'µs/req', 'lower'),
      trips: newRow(
        `fleet.roundtrips@${n}`,
        `fleet of ${n}: Redis round trips per request`,
        'trips/req',
        'lower',
      ),
      commands: newRow(
        `fleet.commands@${n}`,
        `fleet of ${n}: Redis commands per request`,
        'cmds/req',
        'lower',
      ),
    };
    perSize.set(n, set);
    rows.push(set.rps, set.ratio, set.cpu, set.trips, set.commands);
  }
  const site = await startSite();
  const server = await RedisServer.start();
  try {
    for (let round = 0; round < rounds; round += 1) {
      const pool = await SessionPool.open(POOL_OPTIONS);
      await crawl(pool, site.url, warmUpRequests(requests));
      const before = process.cpuUsage();
      const started = performance.now();
      const made = await crawl(pool, site.url, requests);
      const seconds = (performance.now() - started) / 1000;
      const cpu = process.cpuUsage(before);
      await pool.teardown();
      const memoryRps = made / seconds;
      addSample(memory, 'ours', { wall: memoryRps, cpu: made / ((cpu.user + cpu.system) / 1e6) });
      for (const n of sizes) {
        const set = perSize.get(n);
        if (!set) continue;
        const { results, wallMs } = await runFleet(
          n,
          { redisUrl: server.url, keyPrefix: `bench:r${round}:n${n}:`, siteUrl: site.url, requests },
          () => resetStats(server),
        );
        const commands = await redisCommands(server);
        const total = results.reduce((sum, result) => sum + result.made, 0);
        const cpuMicros = results.reduce((sum, result) => sum + result.cpuMicros, 0);
        const trips = results.reduce((sum, result) => sum + result.roundTrips, 0);
        const rps = total / (wallMs / 1000);
        addSample(set.rps, 'ours', { wall: rps, cpu: total / (cpuMicros / 1e6) });
        addSample(set.ratio, 'ours', { wall: rps / memoryRps, cpu: rps / memoryRps });
        addSample(set.cpu, 'ours', { wall: cpuMicros / total, cpu: cpuMicros / total });
        addSample(set.trips, 'ours', { wall: trips / total, cpu: trips / total });
        addSample(set.commands, 'ours', { wall: commands / total, cpu: commands / total });
      }
    }
  } finally {
    site.stop();
    await server.close();
  }
  return rows;
};

if (process.env.FLEET_BENCH_WORKER === '1') {
  workerMain().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
