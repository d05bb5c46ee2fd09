/**
 * Part 4, persistence: checkpoint time and restore time of a pool of `size` sessions with 10 cookies each.
 * - ours: a file store; checkpoint = `pool.persistState()`, restore = `SessionPool.open()` on the same file
 *   (every session respawned as an actor, jars rebuilt);
 * - Crawlee: its key-value store on disk (`@crawlee/memory-storage` with persistence on); checkpoint =
 *   `persistState()`, restore = `SessionPool.open()` through a new storage client reading the same directory;
 * - floor: `JSON.stringify` of every session and `serializeSync()` of its jar, written to a temporary file,
 *   fsynced and renamed; restore = read, parse, `CookieJar.deserializeSync` per session.
 * The write-through overhead on the crawl is in the crawl part.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { open, readFile, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Configuration, SessionPool as CrawleeSessionPool } from '@crawlee/core';
import { CookieJar } from 'tough-cookie';
import { CONTENDERS, type ContenderName } from '../lib/contenders.js';
import { FloorPool } from '../lib/floor-pool.js';
import { SessionPool } from '../lib/library.js';
import { durationSample, type Elapsed, timed } from '../lib/measure.js';
import { addSample, newRow, type Part } from '../lib/protocol.js';
import { collectGarbage, rotate } from '../lib/stats.js';

const URL_OF_SITE = 'http://shop.example.com/';

function cookiesFor(index: number): string[] {
  return Array.from({ length: 10 }, (_, c) => `c${c}=${'v'.repeat(16)}${index}; Path=/; Max-Age=86400`);
}

interface Result {
  checkpoint: Elapsed;
  restore: Elapsed;
}

function expectCount(name: string, got: number, size: number): void {
  if (got !== size) throw new Error(`${name}: restored ${got} sessions, expected ${size}`);
}

async function ours(size: number, dir: string): Promise<Result> {
  const options = {
    maxPoolSize: size,
    store: 'file',
    persistStateDir: dir,
    persistStateIntervalMillis: 0,
  } as const;
  const pool = await SessionPool.open(options);
  for (let i = 0; i < size; i += 1) {
    const session = await pool.getSession();
    for (const cookie of cookiesFor(i)) session.setCookie(cookie, URL_OF_SITE);
  }
  const checkpoint = await timed(() => pool.persistState());
  await pool.teardown();
  collectGarbage();
  const restore = await timed(() => SessionPool.open(options));
  expectCount('ours', restore.result.sessionsCount, size);
  await restore.result.teardown();
  return { checkpoint, restore };
}

async function crawlee(size: number, dir: string): Promise<Result> {
  const base = { maxPoolSize: size, persistStateKey: 'BENCH_POOL' };
  const pool = await CrawleeSessionPool.open(
    base,
    new Configuration({ persistStorage: true, storageClientOptions: { localDataDirectory: dir } }),
  );
  for (let i = 0; i < size; i += 1) {
    const session = await pool.getSession();
    for (const cookie of cookiesFor(i)) session.setCookie(cookie, URL_OF_SITE);
  }
  const checkpoint = await timed(() => pool.persistState());
  await pool.teardown({ persistState: false });
  collectGarbage();
  // Different storage options make Crawlee build a new storage client, which reads the directory afresh.
  const config = new Configuration({
    persistStorage: true,
    purgeOnStart: false,
    storageClientOptions: { localDataDirectory: dir, writeMetadata: false },
  });
  const restore = await timed(() => CrawleeSessionPool.open(base, config));
  expectCount('crawlee', restore.result.usableSessionsCount, size);
  await restore.result.teardown({ persistState: false });
  return { checkpoint, restore };
}

async function floor(size: number, dir: string): Promise<Result> {
  const pool = new FloorPool(size, {
    maxUsageCount: 50,
    maxErrorScore: 3,
    errorScoreDecrement: 0.5,
    maxAgeSecs: 3000,
  });
  for (let i = 0; i < size; i += 1) {
    const session = await pool.getSession();
    for (const cookie of cookiesFor(i)) session.setCookie(cookie, URL_OF_SITE);
  }
  const file = join(dir, 'floor.json');
  const checkpoint = await timed(async () => {
    const text = JSON.stringify(
      pool.sessions().map((s) => ({
        id: s.id,
        usageCount: s.usageCount,
        errorScore: s.errorScore,
        expiresAt: s.expiresAt,
        cookieJar: s.cookieJar.serializeSync(),
      })),
    );
    const handle = await open(`${file}.tmp`, 'w');
    await handle.writeFile(text);
    await handle.sync();
    await handle.close();
    await rename(`${file}.tmp`, file);
  });
  collectGarbage();
  const restore = await timed(async () => {
    const saved = JSON.parse(await readFile(file, 'utf8')) as { cookieJar: unknown }[];
    const restored = new FloorPool(size, pool.options);
    for (const record of saved) {
      const session = restored.addSession();
      const jar = CookieJar.deserializeSync(
        record.cookieJar as Parameters<typeof CookieJar.deserializeSync>[0],
      );
      Object.assign(session, { cookieJar: jar });
    }
    return restored;
  });
  expectCount('floor', restore.result.size, size);
  return { checkpoint, restore };
}

const RUNNERS: Record<ContenderName, (size: number, dir: string) => Promise<Result>> = {
  ours,
  crawlee,
  floor,
};

export const run: Part = async ({ quick, args }) => {
  const size = Number(args.size ?? (quick ? 300 : 10_000));
  const rounds = Number(args.rounds ?? (quick ? 1 : 3));
  const label = size.toLocaleString('en');
  const checkpoint = newRow(
    `persist.checkpoint@${size}`,
    `checkpoint, ${label} sessions x 10 cookies`,
    'ms',
    'lower',
  );
  const restore = newRow(`persist.restore@${size}`, `restore, ${label} sessions x 10 cookies`, 'ms', 'lower');
  const root = mkdtempSync(join(tmpdir(), 'bench-persist-'));
  try {
    for (let round = 0; round < rounds; round += 1) {
      for (const name of rotate(CONTENDERS, round)) {
        const dir = mkdtempSync(join(root, `${name}-`));
        const result = await RUNNERS[name](size, dir);
        addSample(checkpoint, name, durationSample(result.checkpoint));
        addSample(restore, name, durationSample(result.restore));
        rmSync(dir, { recursive: true, force: true });
        collectGarbage();
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return [checkpoint, restore];
};
