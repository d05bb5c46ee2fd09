/**
 * Keeps a worker's local pool a mirror of the fleet's sessions in Redis: sessions other workers create are
 * adopted (spawned locally with their Redis state), sessions retired anywhere are retired here, so every worker
 * runs a machine per fleet session and every worker's `sessionRetired` fires once per retired session.
 * Messages arrive by pub/sub; `sync()` catches up after a reconnection or at start, from Redis's own sets.
 */
import { isRetirementReason, type RetirementReason } from '../../machines/session.machine.js';
import type { SessionPool } from '../session-pool.js';
import type { PoolMessage, RedisSessionStore } from './redis-store.js';

function asReason(reason: string | undefined): RetirementReason {
  return isRetirementReason(reason) ? reason : 'manual';
}

export class FleetMirror {
  readonly #pool: SessionPool;
  readonly #store: RedisSessionStore;
  /** Ids this worker has spawned (alive or retired since): never adopted twice, never retired twice. */
  readonly #known = new Set<string>();
  readonly #adopting = new Set<string>();
  /** Redis time when this worker joined: retirements from before are not its business. */
  #since = 0;
  #syncing: Promise<void> | undefined;

  constructor(pool: SessionPool, store: RedisSessionStore) {
    this.#pool = pool;
    this.#store = store;
    pool.actor.on('sessionsCreated', (event) => {
      for (const id of event.sessionIds) this.#known.add(id);
    });
    pool.actor.on('sessionRetired', (event) => this.#known.add(event.sessionId));
  }

  /** Starts mirroring from now (Redis time). */
  async start(): Promise<void> {
    this.#since = await this.#store.fleet.redisTime();
    await this.sync();
  }

  has(sessionId: string): boolean {
    return this.#known.has(sessionId);
  }

  /** Applies one pool message. */
  async handle(message: PoolMessage): Promise<void> {
    if (message.type === 'created') {
      if (!this.#known.has(message.id)) await this.adopt([message.id]);
    } else if (message.type === 'retired') {
      if (!this.retireLocally(message.id, message.reason) && !this.#known.has(message.id)) {
        await this.adopt([message.id]);
      }
    }
  }

  /** Retires a live local session because Redis says it retired. Returns whether it was alive here. */
  retireLocally(sessionId: string, reason: string | undefined): boolean {
    try {
      this.#pool.send(sessionId, { type: 'session.retire', reason: asReason(reason) });
      return true;
    } catch {
      return false; // not alive here (never adopted, or already retired)
    }
  }

  /**
   * Spawns sessions of the fleet this worker does not have. A record that is already retired spawns and
   * retires at once, so this worker's `sessionRetired` still fires for it.
   */
  async adopt(sessionIds: readonly string[]): Promise<void> {
    const ids = sessionIds.filter((id) => !this.#known.has(id) && !this.#adopting.has(id));
    if (ids.length === 0) return;
    for (const id of ids) this.#adopting.add(id);
    try {
      const records = await this.#store.fetchRecords(ids);
      const fresh = records.filter((record) => !this.#known.has(record.id));
      if (fresh.length > 0) this.#pool.adoptSavedSessions(fresh);
    } finally {
      for (const id of ids) this.#adopting.delete(id);
    }
  }

  /** Catches up with Redis: adopts missing live sessions, retires here what retired elsewhere. */
  sync(): Promise<void> {
    this.#syncing ??= this.#sync().finally(() => {
      this.#syncing = undefined;
    });
    return this.#syncing;
  }

  async #sync(): Promise<void> {
    const [live, retired] = await Promise.all([
      this.#store.fleet.liveIds(),
      this.#store.fleet.retiredSince(this.#since),
    ]);
    const unknownRetired = retired.filter((id) => !this.#known.has(id));
    await this.adopt([...live, ...unknownRetired]);
    const localRetired = retired.filter((id) => this.#known.has(id));
    const reasons = await this.#store.fleet.retirementReasons(localRetired);
    localRetired.forEach((id, index) => {
      this.retireLocally(id, reasons[index] ?? undefined);
    });
  }
}
