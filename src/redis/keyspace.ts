/**
 * Whole-pool operations on the keyspace: listing a pool's keys, moving them aside (never deleting content that
 * could not be loaded), and deleting them (`resetStore()`).
 */
import type { Redis } from 'ioredis';

/** The pool's own keys: `live`, `meta`, `retired`, and `s:`, `j:`, `l:` per session (see scripts.ts). */
const FIXED_KEYS = ['live', 'meta', 'retired'];
const PER_SESSION = ['s:', 'j:', 'l:'];

/**
 * Every key of the pool under `prefix`, without content set aside earlier. Only the pool's own key shapes are
 * matched, so a pool on a longer prefix (`crawl:shop:` under `crawl:`) is not taken for part of this one.
 */
export async function poolKeys(client: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for (const name of FIXED_KEYS)
    if ((await client.exists(`${prefix}${name}`)) === 1) keys.push(`${prefix}${name}`);
  for (const kind of PER_SESSION) {
    let cursor = '0';
    do {
      const [next, batch] = await client.scan(cursor, 'MATCH', `${prefix}${kind}*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
  }
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
