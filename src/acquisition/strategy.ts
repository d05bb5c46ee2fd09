/**
 * The reuse strategies (`random`, `round-robin`, `use-until-failure`), all here: picking a live session out of the
 * pool's shards without copying anything. The pool's context lists its shards, each shard's context lists its
 * session ids; both reads are O(1), and a full scan happens only when random probes keep landing on sessions that
 * cannot take the request.
 */
import type { AnyActorRef } from 'xstate';
import type { PoolContext } from '../../machines/pool.machine.js';
import type { ShardContext } from '../../machines/shard.machine.js';
import type { SessionReuseStrategy } from '../options.js';

/** How many random probes before falling back to a scan. */
const RANDOM_PROBES = 8;

export interface PoolView {
  context: PoolContext;
  children: Record<string, AnyActorRef | undefined>;
}

function shardIdsOf(view: PoolView, shardId: string | undefined): readonly (string | null)[] {
  if (shardId === undefined) return [];
  const shard = view.children[shardId];
  return shard ? (shard.getSnapshot().context as ShardContext).slots : [];
}

/**
 * A uniformly random session id that passes `accept`. Rejection sampling over (shard, slot) pairs keeps the
 * choice uniform even when shards are partly empty.
 */
export function pickRandom(
  view: PoolView,
  accept: (id: string) => boolean,
  random: () => number = Math.random,
): string | undefined {
  const { shardIds, shardCapacity } = view.context;
  if (shardIds.length === 0) return undefined;
  for (let probe = 0; probe < RANDOM_PROBES; probe += 1) {
    const ids = shardIdsOf(view, shardIds[Math.floor(random() * shardIds.length)]);
    const id = ids[Math.floor(random() * shardCapacity)];
    if (id && accept(id)) return id;
  }
  return scan(view, 0, 0, accept)?.id;
}

/** Position of the round-robin cursor: a shard and a slot within it. */
export interface Cursor {
  shard: number;
  slot: number;
}

/** The first session from `cursor` on (wrapping around) that passes `accept`, and the cursor after it. */
export function pickRoundRobin(
  view: PoolView,
  cursor: Cursor,
  accept: (id: string) => boolean,
): { id: string; next: Cursor } | undefined {
  const found = scan(view, cursor.shard, cursor.slot, accept);
  if (!found) return undefined;
  return { id: found.id, next: { shard: found.shard, slot: found.slot + 1 } };
}

function scan(
  view: PoolView,
  startShard: number,
  startSlot: number,
  accept: (id: string) => boolean,
): { id: string; shard: number; slot: number } | undefined {
  const { shardIds } = view.context;
  const shardCount = shardIds.length;
  for (let step = 0; step <= shardCount; step += 1) {
    const shard = (startShard + step) % shardCount;
    const ids = shardIdsOf(view, shardIds[shard]);
    const from = step === 0 ? startSlot : 0;
    const to = step === shardCount ? Math.min(startSlot, ids.length) : ids.length;
    for (let slot = from; slot < to; slot += 1) {
      const id = ids[slot];
      if (id && accept(id)) return { id, shard, slot };
    }
  }
  return undefined;
}

/**
 * Picks among existing sessions by the pool's reuse strategy. Keeps the round-robin cursor between picks, and for
 * `use-until-failure` the session picked last, which is taken again while it passes `accept` and has no error
 * score.
 */
export class SessionPicker {
  readonly #strategy: SessionReuseStrategy;
  #cursor: Cursor = { shard: 0, slot: 0 };
  #current: string | undefined;

  constructor(strategy: SessionReuseStrategy) {
    this.#strategy = strategy;
  }

  /** The session `use-until-failure` keeps using, if it still qualifies (`isClean`: no error score). */
  current(accept: (id: string) => boolean, isClean: (id: string) => boolean): string | undefined {
    const current = this.#current;
    if (this.#strategy !== 'use-until-failure' || current === undefined) return undefined;
    return accept(current) && isClean(current) ? current : undefined;
  }

  /**
   * A session that passes `accept`. `random` draws first among sessions that also pass `prefer` (for a reserved
   * use: sessions with no request in flight), so requests spread over idle sessions, each keeping its one
   * connection, instead of piling onto a few; only when there is none does it take any acceptable one.
   */
  pick(
    view: PoolView,
    accept: (id: string) => boolean,
    prefer?: (id: string) => boolean,
  ): string | undefined {
    if (this.#strategy === 'round-robin') {
      const picked = pickRoundRobin(view, this.#cursor, accept);
      if (picked) this.#cursor = picked.next;
      return picked?.id;
    }
    return (prefer && pickRandom(view, prefer)) || pickRandom(view, accept);
  }

  /** Records the session handed out last (new or picked), for `use-until-failure`. */
  handedOut(id: string): void {
    this.#current = id;
  }

  /** Forgets a retired session. */
  forget(id: string): void {
    if (this.#current === id) this.#current = undefined;
  }
}
