/**
 * Pools shared by a fleet of workers through Redis: one set of sessions, leases with a time-to-live, fleet-wide
 * `maxConcurrency`, exactly-once retirement. Needs the optional peer dependency `ioredis`
 * (`npm install ioredis`); without it, importing this entry point throws `MissingPeerDependencyError`.
 *
 * @example
 * ```ts
 * import { createSharedPool } from 'session-supervisor/redis';
 *
 * const pool = await createSharedPool({ redisUrl: 'redis://127.0.0.1:6379/0', maxPoolSize: 20 });
 * const response = await pool.fetch('https://example.com/');
 * console.log(response.statusCode);
 * await pool.teardown();
 * ```
 *
 * @packageDocumentation
 */
export { RedisUnavailableError } from '../errors.js';
export { FleetCommandTimeoutError, FleetLeaseLostError } from './fleet/errors.js';
export {
  RedisFleet,
  type RedisFleetEvents,
  type RedisFleetOptions,
  redisFleet,
} from './fleet/redis-fleet.js';
export { SessionLease } from './lease.js';
export { DEFAULT_KEY_PREFIX, DEFAULT_REDIS_URL, type RedisConnectionOptions } from './options.js';
export {
  type LeaseGrant,
  type PoolMessage,
  RedisSessionStore,
  type RedisSessionStoreOptions,
} from './redis-store.js';
export {
  createSharedPool,
  SharedSessionPool,
  type SharedSessionPoolEvents,
  type SharedSessionPoolOptions,
} from './shared-pool.js';
