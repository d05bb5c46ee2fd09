/**
 * Opening a Redis connection for the pool: a first connection that must succeed within `connectTimeoutMs` (else
 * `RedisUnavailableError`), then ioredis's own reconnection. Commands issued while the connection is down wait
 * in ioredis's offline queue and are sent on reconnect (`maxRetriesPerRequest: null`); our scripts are written
 * so that a command sent twice has the effect of one.
 */
import { RedisUnavailableError } from '../errors.js';
import { Redis } from './ioredis.js';
import type { ResolvedRedisConnection } from './options.js';
import { defineScripts, type ScriptedRedis } from './scripts.js';

/** Reconnection back-off: 50 ms growing to 1 s, forever (a crawl waits for its Redis). */
function retryStrategy(times: number): number {
  return Math.min(50 * times, 1000);
}

/** Connects (or throws `RedisUnavailableError`) and registers the scripts. */
export async function connectRedis(config: ResolvedRedisConnection, name: string): Promise<ScriptedRedis> {
  const client = new Redis(config.url, {
    ...config.redisOptions,
    connectionName: name,
    lazyConnect: true,
    connectTimeout: config.connectTimeoutMs,
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    autoResendUnfulfilledCommands: true,
    retryStrategy,
  });
  let lastError: Error | undefined;
  // Without a listener ioredis logs every reconnection error; the pool reports outages through its own events.
  client.on('error', (error: Error) => {
    lastError = error;
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(lastError ?? new Error(`no answer within ${config.connectTimeoutMs} ms`)),
          config.connectTimeoutMs,
        );
      }),
    ]);
    await client.ping();
  } catch (error) {
    client.disconnect();
    const cause = lastError ?? error;
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw new RedisUnavailableError(config.redactedUrl, detail, { cause });
  } finally {
    clearTimeout(timer);
  }
  return defineScripts(client);
}
