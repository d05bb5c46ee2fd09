/**
 * `SharedSessionPool`: one session pool shared by many crawler processes through Redis. Each worker runs its
 * own `SessionPool` (supervisor and session machines, so the inspector and dashboard work per worker) as a
 * mirror of the fleet; Redis holds the truth: sessions, counters, cookies, leases and retirements.
 *
 * Hand-outs go through leases: `acquire()` / `withSession()` / `fetch()` take a session only when Redis grants
 * a lease on it (within `maxConcurrencyPerSession` across all workers, within its usage and error limits
 * counting leases in flight), and create sessions only while the fleet has fewer than `maxPoolSize`.
 */
import { EventEmitter } from 'eventemitter3';
import { NoUsableSessionError, PoolNotRunningError, UnknownSessionError } from '../errors.js';
import type { SessionFetchInit, SessionResponse } from '../http/types.js';
import { attachLogger, FLEET_LOGGED_EVENTS } from '../logger.js';
import type { ResolvedPoolOptions, SessionPoolOptions } from '../options.js';
import type { Session } from '../session.js';
import { SessionPool } from '../session-pool.js';
import { FleetLink } from './fleet-link.js';
import { mergeRemoteJar } from './jar-sync.js';
import { type LeaseHost, SessionLease } from './lease.js';
import { FleetMirror } from './mirror.js';
import { RedisSessionStore } from './redis-store.js';
import { sharedFetch } from './shared-fetch.js';
import {
  FORWARDED_EVENTS,
  newSessionRecord,
  resolveSharedOptions,
  type SharedSessionPoolEvents,
  type SharedSessionPoolOptions,
} from './shared-options.js';

export type { SharedSessionPoolEvents, SharedSessionPoolOptions } from './shared-options.js';

/** Candidates offered to Redis per lease attempt: enough to find a free one, few enough for one small script. */
const MAX_CANDIDATES = 64;

/**
 * Opens a shared pool: constructs, connects (typed error if Redis is unreachable), loads and mirrors the fleet.
 *
 * @deprecated Open a `SessionPool` with `fleet: redisFleet({ redisUrl, keyPrefix })` instead: the same API as any
 * pool, uses reserved atomically fleet-wide, constant Redis work per request, Redis Cluster. This first-edition
 * shared pool mirrors every session in every worker and is kept for existing users only.
 */
export async function createSharedPool(
  options: SharedSessionPoolOptions<SharedSessionPool> = {},
): Promise<SharedSessionPool> {
  const pool = new SharedSessionPool(options);
  await pool.initialize();
  return pool;
}

/**
 * @deprecated Use `SessionPool.open({ fleet: redisFleet(…) })` (see `createSharedPool`).
 */
export class SharedSessionPool extends EventEmitter<SharedSessionPoolEvents> {
  /** This worker's local pool (its actor for the inspector, its sessions); hand out through the shared pool. */
  readonly pool: SessionPool;
  readonly store: RedisSessionStore;
  readonly #options: ResolvedPoolOptions<SharedSessionPool>;
  readonly #maxPoolSize: number;
  readonly #leaseTtlMs: number;
  readonly #mirror: FleetMirror;
  readonly #leases = new Set<SessionLease>();
  readonly #link: FleetLink;
  readonly #leaseHost: LeaseHost;
  #status: 'created' | 'running' | 'stopped' = 'created';
  #tokens = 0;

  /** Validates the options (`InvalidOptionError` naming the field). Call `initialize()` before use. */
  constructor(options: SharedSessionPoolOptions<SharedSessionPool> = {}) {
    super();
    const shared = resolveSharedOptions<SharedSessionPool>(options);
    this.#options = shared.resolved;
    this.#maxPoolSize = shared.maxPoolSize;
    this.#leaseTtlMs = shared.leaseTtlMs;
    const redisOptions = shared.redis;
    const poolOptions = shared.local;
    this.store = new RedisSessionStore(redisOptions);
    this.pool = new SessionPool({
      ...(poolOptions as SessionPoolOptions<SessionPool>),
      // The mirror briefly holds a retiring session and its replacement at once.
      maxPoolSize: this.#maxPoolSize * 2,
      store: this.store,
      persistenceMode: 'write-through',
      persistStateIntervalMillis: 0,
    });
    for (const name of FORWARDED_EVENTS) {
      this.pool.on(name, (...args: unknown[]) =>
        (this.emit as (n: string, ...a: unknown[]) => boolean)(name, ...args),
      );
    }
    this.pool.actor.on('sessionRetired', (event) => {
      this.store.noteRetirement(event.sessionId, event.reason, event.session);
      this.#link.wake();
    });
    this.#mirror = new FleetMirror(this.pool, this.store);
    this.#link = new FleetLink(this.store, this.#mirror, {
      lost: () => this.emit('connectionLost'),
      restored: () => this.emit('connectionRestored'),
    });
    this.store.onRetiredInRedis = (id, reason) => this.#mirror.retireLocally(id, reason);
    // The local pool logs its own events; the fleet's (connection, leases) are logged here.
    if (this.#options.logger) attachLogger(this, this.#options.logger, { events: FLEET_LOGGED_EVENTS });
    this.#leaseHost = {
      ttlMs: this.#leaseTtlMs,
      renew: async (id, token) => (await this.store.renewLease(id, token, this.#leaseTtlMs)) === 1,
      finish: async (id, token) => {
        // The next holder must see this one's marks and cookies.
        await this.pool.persistState().catch(() => undefined);
        await this.store.releaseLease(id, token).catch(() => undefined);
      },
      lost: (lease) => this.emit('leaseLost', lease),
      ended: (lease) => {
        this.#leases.delete(lease);
        this.emit('leaseReleased', lease);
      },
    };
  }

  /** Connects to Redis (`RedisUnavailableError` if it cannot), loads the fleet's sessions and starts mirroring. */
  async initialize(): Promise<void> {
    if (this.#status === 'stopped') throw new PoolNotRunningError('it was torn down');
    if (this.#status === 'running') return;
    await this.pool.initialize();
    try {
      await this.#link.open();
      await this.#mirror.start();
    } catch (error) {
      await this.teardown();
      throw error;
    }
    this.#status = 'running';
  }

  /** Most live sessions across the whole fleet. */
  get maxPoolSize(): number {
    return this.#maxPoolSize;
  }

  /** Sessions alive in this worker's mirror. */
  get sessionsCount(): number {
    return this.pool.sessionsCount;
  }

  /** Live sessions across the fleet, as Redis counts them. */
  fleetSize(): Promise<number> {
    return this.store.fleet.size();
  }

  /** Whether the Redis connection is up (hand-outs pause while it is not). */
  get connected(): boolean {
    return this.#link.connected;
  }

  /**
   * Leases a usable session (or the session `sessionId`), creating one while the fleet has room, and waiting
   * (bounded by `sessionWaitTimeoutMs`, wall clock) while every session is leased, cooling down or Redis is down.
   */
  async acquire(
    request: { sessionId?: string; exclude?: ReadonlySet<string>; signal?: AbortSignal } = {},
  ): Promise<SessionLease> {
    this.#assertRunning();
    if (request.sessionId !== undefined) await this.#assertLive(request.sessionId);
    const deadline = Date.now() + this.#options.http.sessionWaitTimeoutMs;
    let pause = 5;
    for (;;) {
      request.signal?.throwIfAborted();
      this.#assertRunning();
      if (this.#link.connected) {
        const lease = await this.#tryLease(request);
        if (lease) return lease;
        if (request.sessionId === undefined && (await this.#tryCreate())) continue;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new NoUsableSessionError(
          request.sessionId === undefined
            ? `no session could be leased within sessionWaitTimeoutMs (${this.#options.http.sessionWaitTimeoutMs} ms)`
            : `session "${request.sessionId}" could not be leased within sessionWaitTimeoutMs`,
        );
      }
      await this.#link.wait(Math.min(pause, left));
      pause = Math.min(pause * 2, 250);
    }
  }

  /** Runs `task` with a leased session and releases the lease after it (also when it throws). */
  async withSession<T>(task: (session: Session) => T | Promise<T>): Promise<T> {
    const lease = await this.acquire();
    try {
      return await task(lease.session);
    } finally {
      await lease.release();
    }
  }

  /** `pool.fetch` with a lease per attempt; rotates to other sessions on blocks and failures like `pool.fetch`. */
  fetch(url: string | URL, init: SessionFetchInit = {}): Promise<SessionResponse> {
    this.#assertRunning();
    return sharedFetch(
      {
        pool: this.pool,
        acquire: (request) => this.acquire(request),
        maxSessionRotations: this.#options.http.maxSessionRotations,
      },
      url,
      init,
    );
  }

  /** Catches up with Redis now (adopts sessions created elsewhere, retires those retired elsewhere). */
  async sync(): Promise<void> {
    this.#assertRunning();
    await this.#mirror.sync();
  }

  /** Releases this worker's leases, writes its last changes, and disconnects. Sessions stay in Redis. */
  async teardown(): Promise<void> {
    if (this.#status === 'stopped') return;
    this.#status = 'stopped';
    await Promise.all([...this.#leases].map((lease) => lease.release().catch(() => undefined)));
    await this.#link.close();
    await this.pool.teardown();
  }

  #assertRunning(): void {
    if (this.#status !== 'running') {
      throw new PoolNotRunningError(
        this.#status === 'created'
          ? 'call initialize() (or use createSharedPool()) first'
          : 'it was torn down',
      );
    }
  }

  /** A pinned request for a session that is not alive in the fleet fails at once (after catching up once). */
  async #assertLive(sessionId: string): Promise<void> {
    const alive = async () => (await this.pool.getSession(sessionId))?.state !== undefined;
    if (await alive()) return;
    await this.#mirror.sync();
    if (!(await alive())) throw new UnknownSessionError(sessionId);
  }

  async #tryLease(request: {
    sessionId?: string;
    exclude?: ReadonlySet<string>;
  }): Promise<SessionLease | undefined> {
    const candidates = await this.#candidates(request);
    if (candidates.length === 0) return undefined;
    const token = `${this.store.storeId}:${++this.#tokens}`;
    const grant = await this.store.lease(
      candidates,
      token,
      this.#leaseTtlMs,
      this.#options.http.maxConcurrencyPerSession,
    );
    if (!grant) return undefined;
    const session = await this.pool.getSession(grant.sessionId);
    if (!session || this.#status !== 'running') {
      await this.store.releaseLease(grant.sessionId, token);
      return undefined;
    }
    if (grant.remoteJar) {
      mergeRemoteJar(session.cookieJar, grant.remoteJar, this.store.seenJar(grant.sessionId));
      this.store.markJarSeen(grant.sessionId, grant.remoteJar, grant.jarVersion);
    }
    const lease = new SessionLease(session, token, this.#leaseHost);
    this.#leases.add(lease);
    this.emit('leaseAcquired', lease);
    return lease;
  }

  /** Usable local sessions in random order, those already tried last (taken only when nothing else is). */
  async #candidates(request: { sessionId?: string; exclude?: ReadonlySet<string> }): Promise<string[]> {
    if (request.sessionId !== undefined) {
      const session = await this.pool.getSession(request.sessionId);
      return session?.isUsable() ? [session.id] : [];
    }
    const fresh: string[] = [];
    const tried: string[] = [];
    for (const session of this.pool.sessions()) {
      if (!session.isUsable()) continue;
      (request.exclude?.has(session.id) ? tried : fresh).push(session.id);
    }
    shuffle(fresh);
    return fresh.concat(tried).slice(0, MAX_CANDIDATES);
  }

  /** Creates a session in Redis if the fleet has room, and spawns it here. */
  async #tryCreate(): Promise<boolean> {
    if ((await this.store.fleet.size()) >= this.#maxPoolSize) return false;
    const now = this.#options.clock?.now() ?? Date.now();
    const record = await newSessionRecord(this, this.#options, now);
    if (!(await this.store.createSession(record, this.#maxPoolSize))) return false;
    if (this.#status !== 'running' || this.#mirror.has(record.id)) return true;
    this.pool.adoptSavedSessions([record]);
    return true;
  }
}

function shuffle(items: string[]): void {
  for (let i = items.length - 1; i > 0; i -= 1) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j] as string, items[i] as string];
  }
}
