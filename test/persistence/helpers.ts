import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimulatedClock } from 'xstate';
import { SessionPool, type SessionPoolOptions } from '../../src/index.js';

/** A fixed, realistic start time so absolute deadlines look like real epoch milliseconds. */
export const T0 = Date.UTC(2026, 0, 1);

export function simulatedClock(at = T0): SimulatedClock {
  const clock = new SimulatedClock();
  clock.set(at);
  return clock;
}

/** Pools and temporary directories opened by a test, closed and removed in afterEach. */
export class Resources {
  readonly pools: SessionPool[] = [];
  readonly dirs: string[] = [];

  async pool(options: SessionPoolOptions<SessionPool>): Promise<SessionPool> {
    const pool = new SessionPool(options);
    this.pools.push(pool);
    await pool.initialize();
    return pool;
  }

  track(pool: SessionPool): SessionPool {
    this.pools.push(pool);
    return pool;
  }

  async dir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'session-supervisor-persist-'));
    this.dirs.push(dir);
    return dir;
  }

  async close(): Promise<void> {
    for (const pool of this.pools.splice(0)) await pool.teardown().catch(() => {});
    for (const dir of this.dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  }
}
