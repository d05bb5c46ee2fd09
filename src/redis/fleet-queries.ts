/** Read-only questions a worker asks Redis about the fleet: who is live, who retired, what time it is there. */
import type { Redis } from 'ioredis';

export class FleetQueries {
  readonly #client: () => Redis;
  readonly #prefix: () => string;

  constructor(client: () => Redis, prefix: () => string) {
    this.#client = client;
    this.#prefix = prefix;
  }

  /** Ids of the fleet's live sessions. */
  liveIds(): Promise<string[]> {
    return this.#client().smembers(`${this.#prefix()}live`);
  }

  /** Number of live sessions across the fleet. */
  size(): Promise<number> {
    return this.#client().scard(`${this.#prefix()}live`);
  }

  /** Ids retired at or after `sinceMs` (Redis time), oldest first. */
  retiredSince(sinceMs: number): Promise<string[]> {
    return this.#client().zrangebyscore(`${this.#prefix()}retired`, sinceMs, '+inf');
  }

  /** Retirement reasons of the given sessions (null while live or unknown). */
  async retirementReasons(sessionIds: readonly string[]): Promise<(string | null)[]> {
    if (sessionIds.length === 0) return [];
    const pipeline = this.#client().pipeline();
    for (const id of sessionIds) pipeline.hmget(`${this.#prefix()}s:${id}`, 'retired', 'reason');
    const results = (await pipeline.exec()) ?? [];
    return results.map(([error, reply]) => {
      const [retired, reason] = (error ? [] : reply) as [string | null, string | null];
      return retired === '1' ? (reason ?? 'manual') : null;
    });
  }

  /** Pool counters over its whole life, across the fleet. */
  async counters(): Promise<{ createdCount: number; retiredCount: number }> {
    const meta = await this.#client().hgetall(`${this.#prefix()}meta`);
    return { createdCount: Number(meta.createdCount ?? 0), retiredCount: Number(meta.retiredCount ?? 0) };
  }

  /** Redis's clock, in epoch ms (leases and retirements are timed on it). */
  async redisTime(): Promise<number> {
    const [seconds, micros] = await this.#client().time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }
}
