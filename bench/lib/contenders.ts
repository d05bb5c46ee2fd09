/**
 * The three pools under test behind one small interface, so every part runs the same loop over each of them:
 * ours (`SessionPool` from src/), Crawlee's `SessionPool` (@crawlee/core 3.x, in-memory storage, no periodic
 * persistence) and the floor (a Map-based pool written for the benchmark).
 */
import { Configuration, SessionPool as CrawleeSessionPool } from '@crawlee/core';
import { FloorPool } from './floor-pool.js';
import { SessionPool } from './library.js';

export type ContenderName = 'ours' | 'crawlee' | 'floor';
export const CONTENDERS: readonly ContenderName[] = ['ours', 'crawlee', 'floor'];

/** What the benchmark loops call on a session; all three pools' sessions have these methods. */
export interface BenchSession {
  readonly id: string;
  markGood(): void;
  markBad(): void;
  retire(): void;
  retireOnBlockedStatusCodes(statusCode: number): boolean;
  setCookie(rawCookie: string, url: string): void;
  getCookieString(url: string): string;
}

export interface BenchPool {
  getSession(): Promise<BenchSession>;
  /** Adds one session; Crawlee's way to replace a retired one at once. */
  addSession(): Promise<void>;
  /** Adds `count` sessions as fast as the pool allows: ours in one batch (`addSessions`), the others one by one. */
  prewarm(count: number): Promise<void>;
  /** Sessions held (Crawlee's count includes retired sessions it has not swept yet). */
  size(): number;
  teardown(): Promise<void>;
}

export interface LimitOptions {
  maxUsageCount?: number;
  maxErrorScore?: number;
  maxAgeSecs?: number;
}

/** Limits that never retire a session on their own: the pure hot path. */
export const NO_LIMITS: LimitOptions = { maxUsageCount: 1_000_000_000, maxAgeSecs: 1_000_000 };

async function openOurs(maxPoolSize: number, limits: LimitOptions): Promise<BenchPool> {
  const pool = await SessionPool.open({ maxPoolSize, sessionOptions: { ...limits } });
  return {
    getSession: () => pool.getSession(),
    addSession: async () => {
      await pool.addSession();
    },
    prewarm: async (count) => {
      await pool.addSessions(count);
    },
    size: () => pool.sessionsCount,
    teardown: () => pool.teardown(),
  };
}

/** One configuration for every Crawlee pool: in-memory storage, nothing written to ./storage. */
let crawleeConfig: Configuration | undefined;

async function openCrawlee(maxPoolSize: number, limits: LimitOptions): Promise<BenchPool> {
  crawleeConfig ??= new Configuration({ persistStorage: false, purgeOnStart: false });
  const pool = await CrawleeSessionPool.open(
    { maxPoolSize, sessionOptions: { ...limits }, persistenceOptions: { enable: false } },
    crawleeConfig,
  );
  return {
    getSession: () => pool.getSession(),
    addSession: () => pool.addSession(),
    prewarm: async (count) => {
      for (let i = 0; i < count; i += 1) await pool.addSession();
    },
    size: () => (pool as unknown as { sessions: unknown[] }).sessions.length,
    teardown: () => pool.teardown({ persistState: false }),
  };
}

async function openFloor(maxPoolSize: number, limits: LimitOptions): Promise<BenchPool> {
  const pool = new FloorPool(maxPoolSize, {
    maxUsageCount: limits.maxUsageCount ?? 50,
    maxErrorScore: limits.maxErrorScore ?? 3,
    errorScoreDecrement: 0.5,
    maxAgeSecs: limits.maxAgeSecs ?? 3000,
  });
  return {
    getSession: () => pool.getSession(),
    addSession: async () => {
      pool.addSession();
    },
    prewarm: async (count) => {
      for (let i = 0; i < count; i += 1) pool.addSession();
    },
    size: () => pool.size,
    teardown: async () => {},
  };
}

export function openPool(
  name: ContenderName,
  maxPoolSize: number,
  limits: LimitOptions = {},
): Promise<BenchPool> {
  switch (name) {
    case 'ours':
      return openOurs(maxPoolSize, limits);
    case 'crawlee':
      return openCrawlee(maxPoolSize, limits);
    case 'floor':
      return openFloor(maxPoolSize, limits);
  }
}

/** Fills a pool to `count` sessions the way a crawler does: by asking for sessions while there is room. */
export async function fillPool(pool: BenchPool, count: number): Promise<void> {
  for (let i = 0; i < count; i += 1) await pool.getSession();
}
