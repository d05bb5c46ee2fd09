/**
 * Part `fleet`: a fleet of 1, 2 and 4 worker processes, each a `SessionPool` with `fleet: redisFleet(…)`, on a
 * real redis-server this part starts, crawling the bench's test site (in its own process); side by side, in the
 * same run, one in-memory `SessionPool` crawling the same site with the same options, in a worker process of
 * its own started and warmed up like the fleet's. Rows (contender `ours`):
 * - `fleet.memory.rps`, `fleet.memory.cpu`, `fleet.memory.site`: the in-memory pool's req/s, its CPU per request
 *   and the test site's;
 * - `fleet.rps@N`: the fleet of N workers, req/s (the pages all of them completed in a window of fixed length,
 *   every worker crawling the whole window);
 * - `fleet.ratio@N`: that ÷ the in-memory pool's req/s of the same round (the mean of a run before and a run
 *   after the fleet of 1);
 * - `fleet.independent.rps@N`, `fleet.shared@N`: N in-memory pools in N processes sharing nothing (what N
 *   processes get on this machine at all), and the fleet of N ÷ that: the cost of sharing, apart from the
 *   machine's own contention;
 * - `fleet.cpu@N`, `fleet.redisCpu@N`, `fleet.siteCpu@N`: CPU time per request of the workers (summed), of Redis
 *   and of the test site (µs): where a CPU-bound fleet's time goes;
 * - `fleet.roundtrips@N` and `fleet.commands@N`: Redis round trips per request (the workers' count) and commands
 *   per request that Redis executed (INFO commandstats, script-internal commands included).
 * - `fleet.latency.memory.rps`, `fleet.latency.rps@N`: the same crawls against the site answering every request
 *   in `SITE_LATENCY_MS`, where requests in flight, not CPU, bound the crawl.
 * Workload: `maxPoolSize` 50, `maxUsageCount` 20, `maxConcurrencyPerSession` 1, lease TTL 3 s, 10 requests in
 * flight per process; the site wants its session cookie and sends 10% of links through cookie-setting redirects.
 *
 * This file is also the worker (`FLEET_BENCH_WORKER=1`): it opens its pool (in memory when given no Redis URL),
 * crawls `warmUpPages` untimed, says `READY`, waits for `GO` on stdin, crawls for `durationMs`, and prints
 * `DONE <json>`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RedisServer } from '../../test/redis/redis-server.js';
import { NO_FAULTS, SessionPool } from '../lib/library.js';
import { addSample, newRow, type Part, type Row } from '../lib/protocol.js';

const SITE_OPTIONS = { seed: 7, pages: 5000, ...NO_FAULTS, redirectRate: 0.1, requireCookies: true };
/**
 * The same site answering every request after `SITE_LATENCY_MS`, as a site across a network does: the crawl is
 * bound by requests in flight rather than by this machine's two cores, so what a worker more adds, or what the
 * fleet's coordination takes away, shows in req/s instead of being hidden by processes competing for CPU.
 */
const SITE_LATENCY_MS = 20;
const LATENT_SITE_OPTIONS = { ...SITE_OPTIONS, slowRate: 1, slowMs: SITE_LATENCY_MS };
const POOL_OPTIONS = {
  maxPoolSize: 50,
  maxConcurrencyPerSession: 1,
  sessionOptions: { maxUsageCount: 20, maxErrorScore: 1_000_000 },
  sessionWaitTimeoutMs: 60_000,
};
const LANES = 10;
const LEASE_TTL_MS = 3000;

interface WorkerResult {
  /** Pages completed within the measured window. */
  made: number;
  /** Pages completed in all, the ones in flight when the window closed included (what the CPU time paid for). */
  finished: number;
  cpuMicros: number;
  roundTrips: number;
}

/**
 * Crawls with `LANES` in flight for `durationMs`, or for `pages` pages: the measured crawl has a fixed length,
 * not a fixed count, so every worker of a fleet runs for the whole window (no tail where some have finished and
 * the rest run alone); the warm-up has a fixed count, so each worker's code is as warm however many share the CPU.
 */
async function crawl(
  pool: SessionPool,
  siteUrl: string,
  length: { durationMs: number } | { pages: number },
): Promise<{ made: number; finished: number }> {
  const closes = 'durationMs' in length ? performance.now() + length.durationMs : Number.POSITIVE_INFINITY;
  const pages = 'pages' in length ? length.pages : Number.POSITIVE_INFINITY;
  let next = 0;
  let made = 0;
  let finished = 0;
  const lane = async () => {
    while (performance.now() < closes && next < pages) {
      const k = next++;
      try {
        await pool.fetch(`${siteUrl}/page/${k % 5000}`);
        finished += 1;
        if (performance.now() <= closes) made += 1;
      } catch {
        // A failed page still used the pool; only completed pages are counted as throughput.
      }
    }
  };
  await Promise.all(Array.from({ length: LANES }, lane));
  return { made, finished };
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
    durationMs: number;
    warmUpPages: number;
  };
  const { redisFleet } = await redisEntry();
  // Without a Redis URL, the same worker runs the in-memory pool: the baseline, measured the same way.
  const pool = await SessionPool.open(
    config.redisUrl === ''
      ? POOL_OPTIONS
      : {
          ...POOL_OPTIONS,
          fleet: redisFleet({
            redisUrl: config.redisUrl,
            keyPrefix: config.keyPrefix,
            leaseTtlMs: LEASE_TTL_MS,
          }),
        },
  );
  // Warmed up (JIT, connections, Redis's script cache), every worker the same way, so none is measured while V8
  // is still compiling its code.
  await crawl(pool, config.siteUrl, { pages: config.warmUpPages });
  process.stdout.write('READY\n');
  await new Promise<void>((resolve) => {
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk: string) => {
      if (chunk.includes('GO')) resolve();
    });
  });
  const before = process.cpuUsage();
  const tripsBefore = pool.stats().fleet?.roundTrips ?? 0;
  const { made, finished } = await crawl(pool, config.siteUrl, { durationMs: config.durationMs });
  const cpu = process.cpuUsage(before);
  const result: WorkerResult = {
    made,
    finished,
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

/** CPU time (µs) a child process of this one has used so far, from /proc (Linux); 0 elsewhere. */
function processCpuMicros(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime, in clock ticks (100 per second on Linux).
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100;
  } catch {
    return 0;
  }
}

async function startSite(
  options: typeof SITE_OPTIONS,
): Promise<{ url: string; pid: number | undefined; stop(): void }> {
  const script = fileURLToPath(new URL('../lib/site-process.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(options)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    lines(child, (line) => {
      const match = /SITE_URL (\S+)/.exec(line);
      if (match) resolve(match[1] as string);
    });
    child.on('exit', (code) => reject(new Error(`test site exited (${code}) before listening`)));
  });
  return { url, pid: child.pid, stop: () => child.stdin?.end() };
}

/** Runs N workers to completion; returns their results and the wall time from GO to the last DONE. */
async function runFleet(
  workers: number,
  config: { redisUrl: string; keyPrefix: string; siteUrl: string; durationMs: number; warmUpPages: number },
  beforeGo: () => Promise<void>,
): Promise<WorkerResult[]> {
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
  for (const child of children) child.stdin?.write('GO\n');
  const results = await Promise.all(done);
  await Promise.all(
    children.map(
      (child) =>
        new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(null))),
    ),
  );
  return results;
}

/** Pages that workers completed within the measured window, per second of it. */
function pagesPerSecond(results: readonly WorkerResult[], durationMs: number): number {
  return results.reduce((sum, result) => sum + result.made, 0) / (durationMs / 1000);
}

/** Runs one exchange with the part's redis-server on a connection of its own (the workers' counters stay theirs). */
async function onRedis<T>(
  server: RedisServer,
  run: (client: import('ioredis').Redis) => Promise<T>,
): Promise<T> {
  const { Redis } = await import('ioredis');
  const client = new Redis(server.url);
  try {
    return await run(client);
  } finally {
    client.disconnect();
  }
}

async function redisCommands(server: RedisServer): Promise<number> {
  const info = await onRedis(server, (client) => client.info('commandstats'));
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

/** Redis's own CPU time so far (µs): INFO cpu. */
async function redisCpuMicros(server: RedisServer): Promise<number> {
  const info = await onRedis(server, (client) => client.info('cpu'));
  const user = Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? 0);
  const sys = Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? 0);
  return (user + sys) * 1e6;
}

async function resetStats(server: RedisServer): Promise<void> {
  await onRedis(server, (client) => client.config('RESETSTAT'));
}

export const run: Part = async ({ quick, args }) => {
  const rounds = Number(args.rounds ?? (quick ? 1 : 5));
  const durationMs = Number(args.seconds ?? (quick ? 0.3 : 3)) * 1000;
  const warmUpPages = Number(args.warmup ?? (quick ? 200 : 4000));
  const sizes = [1, 2, 4];
  const memory = newRow(
    'fleet.memory.rps',
    'fleet: one in-memory SessionPool, same crawl',
    'req/s',
    'higher',
  );
  const memoryCpu = newRow('fleet.memory.cpu', 'in-memory pool: client CPU per request', 'µs/req', 'lower');
  const memorySite = newRow(
    'fleet.memory.site',
    'in-memory pool: test site CPU per request',
    'µs/req',
    'lower',
  );
  const rows: Row[] = [memory, memoryCpu, memorySite];
  const perSize = new Map<
    number,
    {
      rps: Row;
      ratio: Row;
      independent: Row | undefined;
      shareCost: Row | undefined;
      cpu: Row;
      redis: Row;
      site: Row;
      trips: Row;
      commands: Row;
    }
  >();
  for (const n of sizes) {
    const set = {
      rps: newRow(`fleet.rps@${n}`, `fleet of ${n} worker process(es) on one Redis`, 'req/s', 'higher'),
      ratio: newRow(`fleet.ratio@${n}`, `fleet of ${n} ÷ in-memory pool, req/s`, '×', 'higher'),
      // What N processes get on this machine when they share nothing: the ceiling for a fleet of N.
      independent:
        n === 1
          ? undefined
          : newRow(
              `fleet.independent.rps@${n}`,
              `${n} independent in-memory pools, one per process`,
              'req/s',
              'higher',
            ),
      shareCost:
        n === 1
          ? undefined
          : newRow(
              `fleet.shared@${n}`,
              `fleet of ${n} ÷ ${n} independent in-memory pools, req/s`,
              '×',
              'higher',
            ),
      cpu: newRow(`fleet.cpu@${n}`, `fleet of ${n}: client CPU per request (all workers)`, 'µs/req', 'lower'),
      redis: newRow(`fleet.redisCpu@${n}`, `fleet of ${n}: Redis CPU per request`, 'µs/req', 'lower'),
      site: newRow(`fleet.siteCpu@${n}`, `fleet of ${n}: test site CPU per request`, 'µs/req', 'lower'),
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
    rows.push(set.rps, set.ratio);
    if (set.independent && set.shareCost) rows.push(set.independent, set.shareCost);
    rows.push(set.cpu, set.redis, set.site, set.trips, set.commands);
  }
  const latency = {
    memory: newRow(
      'fleet.latency.memory.rps',
      `one in-memory SessionPool, site answering in ${SITE_LATENCY_MS} ms`,
      'req/s',
      'higher',
    ),
    rps: new Map(
      sizes.map((n) => [
        n,
        newRow(
          `fleet.latency.rps@${n}`,
          `fleet of ${n} worker process(es), site answering in ${SITE_LATENCY_MS} ms`,
          'req/s',
          'higher',
        ),
      ]),
    ),
  };
  rows.push(latency.memory, ...latency.rps.values());
  const site = await startSite(SITE_OPTIONS);
  const latentSite = await startSite(LATENT_SITE_OPTIONS);
  const server = await RedisServer.start();
  try {
    /** One run of the in-memory pool in a worker of its own; its req/s. */
    const runMemory = async (): Promise<number> => {
      let siteBefore = 0;
      const results = await runFleet(
        1,
        { redisUrl: '', keyPrefix: '', siteUrl: site.url, durationMs, warmUpPages },
        async () => {
          siteBefore = processCpuMicros(site.pid);
        },
      );
      const siteMicros = processCpuMicros(site.pid) - siteBefore;
      const [baseline] = results;
      const finished = baseline?.finished ?? 0;
      const rps = pagesPerSecond(results, durationMs);
      const micros = (baseline?.cpuMicros ?? 0) / finished;
      addSample(memory, 'ours', { wall: rps, cpu: 1e6 / micros });
      addSample(memoryCpu, 'ours', { wall: micros, cpu: micros });
      addSample(memorySite, 'ours', { wall: siteMicros / finished, cpu: siteMicros / finished });
      return rps;
    };
    for (let round = 0; round < rounds; round += 1) {
      // The in-memory pool runs before and after the fleet of 1, and the round's ratios divide by the mean of the
      // two: this machine's speed drifts between runs, and a drift then weighs on both sides alike.
      const memoryBefore = await runMemory();
      const fleetRps = new Map<number, number>();
      let memoryRps = memoryBefore;
      for (const n of sizes) {
        const set = perSize.get(n);
        if (!set) continue;
        let siteAtGo = 0;
        let redisAtGo = 0;
        const results = await runFleet(
          n,
          {
            redisUrl: server.url,
            keyPrefix: `bench:r${round}:n${n}:`,
            siteUrl: site.url,
            durationMs,
            warmUpPages,
          },
          async () => {
            await resetStats(server);
            siteAtGo = processCpuMicros(site.pid);
            redisAtGo = await redisCpuMicros(server);
          },
        );
        const redisMicros = (await redisCpuMicros(server)) - redisAtGo;
        const fleetSiteMicros = processCpuMicros(site.pid) - siteAtGo;
        const commands = await redisCommands(server);
        // Throughput counts the pages of the window; costs per request divide by every page they paid for.
        const rps = pagesPerSecond(results, durationMs);
        const total = results.reduce((sum, result) => sum + result.finished, 0);
        const cpuMicros = results.reduce((sum, result) => sum + result.cpuMicros, 0);
        const trips = results.reduce((sum, result) => sum + result.roundTrips, 0);
        addSample(set.rps, 'ours', { wall: rps, cpu: total / (cpuMicros / 1e6) });
        fleetRps.set(n, rps);
        if (n === 1) memoryRps = (memoryBefore + (await runMemory())) / 2;
        if (set.independent && set.shareCost) {
          const alone = await runFleet(
            n,
            { redisUrl: '', keyPrefix: '', siteUrl: site.url, durationMs, warmUpPages },
            async () => {},
          );
          const aloneRps = pagesPerSecond(alone, durationMs);
          addSample(set.independent, 'ours', { wall: aloneRps, cpu: aloneRps });
          addSample(set.shareCost, 'ours', { wall: rps / aloneRps, cpu: rps / aloneRps });
        }
        addSample(set.cpu, 'ours', { wall: cpuMicros / total, cpu: cpuMicros / total });
        addSample(set.redis, 'ours', { wall: redisMicros / total, cpu: redisMicros / total });
        addSample(set.site, 'ours', { wall: fleetSiteMicros / total, cpu: fleetSiteMicros / total });
        addSample(set.trips, 'ours', { wall: trips / total, cpu: trips / total });
        addSample(set.commands, 'ours', { wall: commands / total, cpu: commands / total });
      }
      // The latency-bound crawl: its warm-up is shorter, since CPU is not what it measures.
      const latentWarmUp = Math.min(warmUpPages, 1000);
      const latentMemory = await runFleet(
        1,
        { redisUrl: '', keyPrefix: '', siteUrl: latentSite.url, durationMs, warmUpPages: latentWarmUp },
        async () => {},
      );
      const latentMemoryRps = pagesPerSecond(latentMemory, durationMs);
      addSample(latency.memory, 'ours', { wall: latentMemoryRps, cpu: latentMemoryRps });
      for (const n of sizes) {
        const results = await runFleet(
          n,
          {
            redisUrl: server.url,
            keyPrefix: `bench:r${round}:latent${n}:`,
            siteUrl: latentSite.url,
            durationMs,
            warmUpPages: latentWarmUp,
          },
          async () => {},
        );
        const rps = pagesPerSecond(results, durationMs);
        const row = latency.rps.get(n);
        if (row) addSample(row, 'ours', { wall: rps, cpu: rps });
      }
      for (const [n, rps] of fleetRps) {
        const ratio = perSize.get(n)?.ratio;
        if (ratio) addSample(ratio, 'ours', { wall: rps / memoryRps, cpu: rps / memoryRps });
      }
    }
  } finally {
    site.stop();
    latentSite.stop();
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
