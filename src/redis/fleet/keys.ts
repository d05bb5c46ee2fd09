/**
 * The key layout of one fleet pool. Every key carries the pool's hash tag `{<name>}` (the key prefix without its
 * trailing `:`), so a pool lives in one Redis Cluster slot, its scripts can declare every key they touch, and a
 * reset deletes exactly these keys: `crawl:` (`{crawl}:…`) and `crawl:shop:` (`{crawl:shop}:…`) share nothing.
 *
 *   meta     hash: gen (generation id), live, created, retired, rseq (retirement sequence), jseq (cookie sequence)
 *   avail    sorted set: sessions that can take a grant, scored by the time they may (LRU order, pacing, cool-down)
 *   st       hash: session id → JSON state (counters, limits, in-flight leases, jar version, retirement)
 *   rec      hash: session id → the session's context JSON at creation (what a worker adopts it from)
 *   leases   sorted set: `<id>|<token>` → expiry (Redis time, ms)
 *   jar      hash: `<id>\n<cookie field>` → `<seq>\n<cookie JSON>` (an empty JSON is a deleted cookie)
 *   jlog     sorted set (all scores 0): `<id>\n<seq, 12 digits>\n<cookie field>`, the latest change of each cookie
 *   retired  sorted set: retired id → its retirement sequence number (tombstones, trimmed)
 *   wait     sorted set: worker id → expiry of its wait registration
 * Wake-up channel of one worker: `{<name>}:w:<worker id>` (a pub/sub channel, not a key).
 */

export const KEY_NAMES = ['meta', 'avail', 'st', 'rec', 'leases', 'jar', 'jlog', 'retired', 'wait'] as const;

export interface FleetKeys {
  /** `{<name>}` */
  readonly tag: string;
  /** Every key, in the order the scripts declare them (KEYS[1..9]). */
  readonly all: readonly string[];
  readonly meta: string;
  /** The wake-up channel of a worker. */
  channel(workerId: string): string;
}

/** `crawl:shop:` → `crawl:shop`; a prefix that already is a hash tag (`{crawl}:`) keeps its name. */
export function poolName(keyPrefix: string): string {
  const trimmed = keyPrefix.replace(/:+$/, '');
  const tagged = /^\{([^{}]+)\}$/.exec(trimmed);
  return tagged ? (tagged[1] as string) : trimmed;
}

export function fleetKeys(keyPrefix: string): FleetKeys {
  const tag = `{${poolName(keyPrefix)}}`;
  const all = KEY_NAMES.map((name) => `${tag}:${name}`);
  return {
    tag,
    all,
    meta: `${tag}:meta`,
    channel: (workerId) => `${tag}:w:${workerId}`,
  };
}
