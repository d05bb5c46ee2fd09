/**
 * Whole-pool operations on the keyspace: listing a pool's keys, moving them aside (never deleting content that
 * could not be loaded), and deleting them (`resetStore()`).
 */
import type { Redis } from 'ioredis';

/** Every key of the pool under `prefix`, without content set aside earlier. */
export async function poolKeys(client: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of batch) if (!key.startsWith(`${prefix}aside-`)) keys.push(key);
  } while (cursor !== '0');
  return keys;
}

/** Renames every key of the pool to `<prefix>aside-<time>-<reason>:<rest>`; returns that new prefix. */
export async function setAsideKeys(
  client: Redis,
  prefix: string,
  reason: string,
): Promise<string | undefined> {
  const keys = await poolKeys(client, prefix);
  if (keys.length === 0) return undefined;
  const aside = `${prefix}aside-${Date.now()}-${reason}:`;
  const pipeline = client.pipeline();
  for (const key of keys) pipeline.rename(key, `${aside}${key.slice(prefix.length)}`);
  await pipeline.exec();
  return aside;
}

/** Deletes every key of the pool (content set aside is kept). */
export async function deleteKeys(client: Redis, prefix: string): Promise<void> {
  const keys = await poolKeys(client, prefix);
  for (let i = 0; i < keys.length; i += 500) await client.unlink(...keys.slice(i, i + 500));
}
