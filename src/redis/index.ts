/**
 * Redis for session pools: `redisFleet()` shares one set of sessions between worker processes (uses reserved
 * atomically fleet-wide, leases with a time-to-live, Redis Cluster), and `RedisSessionStore` persists one pool's
 * state in Redis. Needs the optional peer dependency `ioredis` (`npm install ioredis`); without it, importing
 * this entry point throws `MissingPeerDependencyError`.
 *
 * @example
 * ```ts
 * import { SessionPool } from 'session-supervisor';
 * import { redisFleet } from 'session-supervisor/redis';
 *
 * const pool = await SessionPool.open({
 *   maxPoolSize: 20,
 *   fleet: redisFleet({ redisUrl: 'redis://127.0.0.1:6379/0', keyPrefix: 'crawl:shop:' }),
 * });
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
export { DEFAULT_KEY_PREFIX, DEFAULT_REDIS_URL, type RedisConnectionOptions } from './options.js';
export { RedisSessionStore, type RedisSessionStoreOptions } from './redis-store.js';
