/**
 * Opening a Redis connection for the pool: a first connection that must succeed within `connectTimeoutMs` (else
 * `RedisUnavailableError`), then ioredis's own reconnection. Commands issued while the connection is down wait
 * in ioredis's offline queue and are sent on reconnect (`maxRetriesPerRequest: null`); our scripts are written
 * so that a command sent twice has the effect of one.
 */
import type { RedisOptions } from 'ioredis';
import { RedisUnavailableError } from '../errors.js';
import { type Cluster, Redis } from './ioredis.js';
import type { ResolvedRedisConnection } from './options.js';
import { defineScripts, type ScriptedRedis } from './scripts.js';

/** Reconnection back-off: 50 ms growing to 1 s, forever (a crawl waits for its Redis). */
export function retryStrategy(times: number): number {
  return Math.min(50 * times, 1000);
}

/**
 * The ioredis options of every connection this library opens, over the caller's `redisOptions`: connected by
 * `connectWithin` (lazily), commands queued while the connection is down and sent again on reconnect, and
 * reconnection forever.
 */
export function connectionOptions(
  redisOptions: RedisOptions,
  name: string,
  connectTimeoutMs: number,
): RedisOptions {
  return {
    ...redisOptions,
    connectionName: name,
    lazyConnect: true,
    connectTimeout: connectTimeoutMs,
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    autoResendUnfulfilledCommands: true,
    retryStrategy,
  };
}

/** Connects (or throws `RedisUnavailableError`) and registers the scripts. */
export async function connectRedis(config: ResolvedRedisConnection, name: string): Promise<ScriptedRedis> {
  const client = new Redis(config.url, connectionOptions(config.redisOptions, name, config.connectTimeoutMs));
  await connectWithin(client, config.connectTimeoutMs, config.redactedUrl);
  return defineScripts(client);
}

/**
 * Opens a lazily connecting ioredis client (one node or a Cluster) and waits for its first answer, or throws
 * `RedisUnavailableError` naming `where` once `timeoutMs` pass (the client is disconnected then). Reconnections
 * after that are ioredis's own. Without an `error` listener ioredis logs every reconnection error; outages are
 * reported through the pool's events instead.
 */
export async function connectWithin(
  connection: Redis | Cluster,
  timeoutMs: number,
  where: string,
): Promise<void> {
  let lastError: Error | undefined;
  connection.on('error', (error: Error) => {
    lastError = error;
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      connection.connect(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(lastError ?? new Error(`no answer within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]);
    await connection.ping();
  } catch (error) {
    connection.disconnect();
    const cause = lastError ?? error;
    throw new RedisUnavailableError(where, cause instanceof Error ? cause.message : String(cause), { cause });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Subscribes to `channel` now and again after every reconnection. ioredis's own resubscription (a single node's
 * `autoResubscribe`) drops the promise of its SUBSCRIBE, which rejects unhandled when the connection is closed
 * before the reply; so a single-node subscriber is opened with `autoResubscribe: false` and resubscribes here.
 * A Cluster's subscriber resubscribes by itself and handles its own failures.
 */
export async function subscribeAcrossReconnects(connection: Redis | Cluster, channel: string): Promise<void> {
  await connection.subscribe(channel);
  if (!(connection instanceof Redis)) return;
  connection.on('ready', () => {
    // A failure here means the connection closed again; the next 'ready' subscribes anew.
    connection.subscribe(channel).catch(() => undefined);
  });
}
