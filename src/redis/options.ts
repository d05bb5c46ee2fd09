/**
 * Options of the Redis store and of the Redis fleet, checked field by field like every other option: a bad
 * value is an `InvalidOptionError` naming the field, before any connection is made.
 */
import type { RedisOptions } from 'ioredis';
import { InvalidOptionError } from '../errors.js';
import { numberOption } from '../options.js';

/** Where Redis runs and how this library names its keys there. */
export interface RedisConnectionOptions {
  /**
   * `redis://[user:password@]host:port/db` or `rediss://…` (TLS). Default: the `REDIS_URL` environment variable,
   * else `redis://127.0.0.1:6379/0`.
   * @defaultValue `process.env.REDIS_URL`, else `'redis://127.0.0.1:6379/0'`
   */
  redisUrl?: string;
  /**
   * Prefix of every key and of the pub/sub channel of this pool; pools with different prefixes share one Redis
   * without seeing each other.
   * @defaultValue `'session-supervisor:default:'`
   */
  keyPrefix?: string;
  /**
   * How long the first connection may take before `RedisUnavailableError`, in ms.
   * @defaultValue `5000`
   */
  connectTimeoutMs?: number;
  /**
   * Seconds a retired session's record (its tombstone) is kept, so late workers still hear of it.
   * @defaultValue `86_400` (one day)
   */
  tombstoneTtlSecs?: number;
  /**
   * Extra ioredis options (TLS, sentinels, `username`…); connection and retry settings of this library win.
   * @defaultValue `{}`
   */
  redisOptions?: RedisOptions;
}

export interface ResolvedRedisConnection {
  url: string;
  /** The URL with its password replaced by `***`, for messages. */
  redactedUrl: string;
  keyPrefix: string;
  connectTimeoutMs: number;
  tombstoneTtlSecs: number;
  redisOptions: RedisOptions;
}

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379/0';
export const DEFAULT_KEY_PREFIX = 'session-supervisor:default:';

export const REDIS_CONNECTION_OPTION_NAMES: readonly string[] = [
  'redisUrl',
  'keyPrefix',
  'connectTimeoutMs',
  'tombstoneTtlSecs',
  'redisOptions',
];

/** Replaces the password of a Redis URL with `***`. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.href;
  } catch {
    return '<invalid url>';
  }
}

/** Validates the connection options (the rest of `input` is ignored). */
export function resolveRedisConnection(input: Record<string, unknown>): ResolvedRedisConnection {
  const url = input.redisUrl ?? process.env.REDIS_URL ?? DEFAULT_REDIS_URL;
  if (typeof url !== 'string' || url.length === 0) {
    throw new InvalidOptionError('redisUrl', 'expected a redis:// or rediss:// URL');
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidOptionError('redisUrl', `not a valid URL: ${redactRedisUrl(url)}`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new InvalidOptionError('redisUrl', `expected redis:// or rediss://, got ${parsed.protocol}//`);
  }
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d{1,4}$/.test(db)) {
    throw new InvalidOptionError('redisUrl', `the path must be a database number, got "/${db}"`);
  }
  const keyPrefix = input.keyPrefix ?? DEFAULT_KEY_PREFIX;
  if (typeof keyPrefix !== 'string' || keyPrefix.length === 0 || keyPrefix.length > 200) {
    throw new InvalidOptionError('keyPrefix', 'expected a non-empty string of at most 200 characters');
  }
  if (/[\s*?[\]]/.test(keyPrefix)) {
    throw new InvalidOptionError('keyPrefix', 'must not contain whitespace or the glob characters * ? [ ]');
  }
  const redisOptions = input.redisOptions ?? {};
  if (typeof redisOptions !== 'object' || redisOptions === null || Array.isArray(redisOptions)) {
    throw new InvalidOptionError('redisOptions', 'expected an object of ioredis options');
  }
  return {
    url,
    redactedUrl: redactRedisUrl(url),
    keyPrefix,
    connectTimeoutMs: numberOption('connectTimeoutMs', input.connectTimeoutMs, 5000, {
      integer: true,
      min: 1,
      max: 600_000,
    }),
    tombstoneTtlSecs: numberOption('tombstoneTtlSecs', input.tombstoneTtlSecs, 86_400, {
      integer: true,
      min: 1,
    }),
    redisOptions: redisOptions as RedisOptions,
  };
}
