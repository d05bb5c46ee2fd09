import { EventEmitter } from 'eventemitter3';
import type { Dispatcher } from 'undici';
import { type Actor, createActor } from 'xstate';
import { findSessionRef, type PoolEmitted, type poolMachine } from '../machines/pool.machine.js';
import { type SessionEvent, type SessionInput, sessionContextFrom } from '../machines/session.machine.js';
import { type AcquireOptions, type AcquisitionHost, SessionAcquirer } from './acquisition/acquirer.js';
import type { FleetHost, FleetPoolStats } from './acquisition/fleet.js';
import { FleetAcquirer } from './acquisition/fleet-acquirer.js';
import type { SessionLease } from './acquisition/lease.js';
import type { PoolView } from './acquisition/strategy.js';
import { type Clock, systemClock } from './clock.js';
import { type CookieJar, type CookieLimits, createCookieJar, onCookiesEvicted } from './cookies.js';
import {
  DuplicateSessionError,
  InvalidOptionError,
  PoolFullError,
  PoolNotRunningError,
  UnknownSessionError,
} from './errors.js';
import type { SessionFetchInit, SessionResponse } from './http/types.js';
import { indexScheduledEvents } from './indexed-scheduler.js';
import { attachLogger } from './logger.js';
import {
  numberOption,
  type ResolvedPoolOptions,
  resolvePoolOptions,
  type SessionOptions,
  type SessionPoolOptions,
} from './options.js';
import type { SessionPoolEvents, SessionPoolState } from './pool-events.js';
import { PoolHttp } from './pool-http/pool-http.js';
import { type PoolStats, PoolTally } from './pool-stats.js';
import { Session, type SessionHost } from './session.js';
import { buildSessionInput } from './session-input.js';
import type { CrawleeSessionPoolState } from './stores/crawlee.js';
import {
  type CrawleeExportedPoolState,
  type ExportCrawleeStateOptions,
  exportCrawleeState,
} from './stores/crawlee-export.js';
import { PoolPersistence } from './stores/pool-persistence.js';
import {
  adoptRecords,
  type CrawleeImportResult,
  importCrawleeSessions,
  type PersistenceHost,
} from './stores/restore.js';
import type { PersistedSessionRecord } from './stores/types.js';
import { createPoolLogic, retiredSessionActor } from './supervisor.js';

type PoolActor = Actor<typeof poolMachine>;

/** What `pool.withSession` hands its task beside the session. */
export interface SessionUse {
  /** Aborts when the caller's signal aborts or the pool is torn down. */
  signal: AbortSignal;
  /** The session's undici Dispatcher, reserving nothing more (this use is the request's). */
  dispatcher: Dispatcher;
  /** The reserved use itself, to end it another way (`lease.retire()`, `lease.release('unused')`). */
  lease: SessionLease;
}

/**
 * A pool of crawler sessions, each a live XState actor, supervised by a pool actor. Names follow Crawlee's
 * `SessionPool`; the pool keeps no copy of session state: it sends events and reads snapshots.
 *
 * @example
 * ```ts
 * const pool = await SessionPool.open({ maxPoolSize: 50, sessionOptions: { maxUsageCount: 20 } });
 * pool.on('sessionRetired', ({ session, reason }) => console.log(session.id, reason));
 * const page = await pool.fetch('https://example.com/');
 * await pool.teardown();
 * ```
 */
export class SessionPool extends EventEmitter<SessionPoolEvents> {
  /** The pool's root XState actor: inspect it, `subscribe` to it, or send it events. */
  readonly actor: PoolActor;
  readonly #options: ResolvedPoolOptions<SessionPool>;
  readonly #clock: Clock;
  readonly #cookieLimits: CookieLimits;
  /** Handles (actor ref + cookie jar) of the live sessions. */
  readonly #sessions = new Map<string, Session>();
  /** Jars to attach to sessions about to be spawned (restored or prepared by the caller). */
  readonly #pendingJars = new Map<string, CookieJar>();
  readonly #host: SessionHost;
  /** Fetching through sessions: transports, proxies, profiles, outcome classification (src/pool-http/). */
  readonly #http: PoolHttp;
  /** The one way sessions are handed out: strategy, readiness, waiting, reserved uses (src/acquisition/). */
  readonly #acquirer: SessionAcquirer;
  /** What the pool has done, counted (`stats()`). */
  readonly #tally = new PoolTally();
  readonly #persistenceHost: PersistenceHost;
  /** Set when the pool has a store (`store` option). */
  readonly #persistence: PoolPersistence | undefined;
  #initializing: Promise<void> | undefined;
  #status: 'created' | 'running' | 'stopped' = 'created';
  /** Creations awaiting `createSessionFunction`; each holds a slot of the pool. */
  readonly #creations = new Set<Promise<unknown>>();

  /**
   * Opens a pool: constructs it (options validated, `InvalidOptionError` naming the field) and initializes it
   * (restoring its store's state, if it has one).
   *
   * @example
   * ```ts
   * const pool = await SessionPool.open({ maxPoolSize: 10, store: 'file', persistStateKey: 'shop' });
   * ```
   */
  static async open(options?: SessionPoolOptions<SessionPool>): Promise<SessionPool> {
    const pool = new SessionPool(options);
    await pool.initialize();
    return pool;
  }

  /** Validates the options (throws `InvalidOptionError` naming the field). Call `initialize()` before use. */
  constructor(options: SessionPoolOptions<SessionPool> = {}) {
    super();
    this.#options = resolvePoolOptions<SessionPool>(options);
    this.#clock = this.#options.clock ?? systemClock;
    this.#cookieLimits = {
      maxCookiesPerSession: this.#options.maxCookiesPerSession,
      maxCookiesPerDomain: this.#options.maxCookiesPerDomain,
    };
    const clock = this.#clock;
    this.#http = new PoolHttp({
      options: this.#options.http,
      blockedStatusCodes: this.#options.blockedStatusCodes,
      clock,
      tally: this.#tally,
      acquirer: () => this.#acquirer,
    });
    this.#acquirer = this.#createAcquirer();
    this.#host = {
      now: () => clock.now(),
      reportCookieRejected: (rejection) => this.emit('cookieRejected', rejection),
      createCookieJar: (sessionId) => this.#createCookieJar(sessionId),
      http: this.#http,
    };
    this.actor = createActor(
      createPoolLogic(() => clock.now()),
      {
        input: {
          // A fleet pool's local copies briefly include sessions retired elsewhere and not yet heard of.
          maxPoolSize: this.#options.maxPoolSize * (this.#options.fleet ? 2 : 1),
          shardCapacity: this.#options.shardCapacity,
        },
        clock,
        ...(this.#options.inspect ? { inspect: this.#options.inspect } : {}),
      },
    );
    indexScheduledEvents(this.actor.system);
    this.actor.on('sessionsCreated', (event) => {
      for (const sessionId of event.sessionIds) this.#onSessionCreated(sessionId);
    });
    this.actor.on('sessionStateChanged', (event) => this.#onStateChanged(event));
    this.actor.on('sessionRetired', (event) => this.#onSessionRetired(event));
    this.actor.on('eventRejected', (event) => this.emit('eventRejected', event));
    if (this.#options.logger) attachLogger(this, this.#options.logger);
    this.#persistenceHost = this.#createPersistenceHost();
    const { store } = this.#options.persistence;
    if (store)
      this.#persistence = new PoolPersistence(store, this.#options.persistence, this.#persistenceHost);
  }

  /** Starts the pool's actors. Idempotent. */
  async initialize(): Promise<void> {
    if (this.#status === 'stopped') throw new PoolNotRunningError('it was torn down');
    if (this.#status === 'running') return;
    this.#initializing ??= this.#start().finally(() => {
      this.#initializing = undefined;
    });
    return this.#initializing;
  }

  /** Restores the saved state (if the pool has a store), then starts the actors. */
  async #start(): Promise<void> {
    const loaded = await this.#persistence?.load();
    if (this.#status === 'stopped') {
      // torn down while the state was loading
      await this.#persistence?.release();
      throw new PoolNotRunningError('it was torn down');
    }
    this.actor.start();
    this.#status = 'running';
    if (this.#options.fleet) {
      try {
        await this.#options.fleet.open(this.#fleetHost());
      } catch (error) {
        await this.teardown();
        throw error;
      }
    }
    if (this.#persistence && loaded) {
      this.emit('stateRestored', this.#persistence.restore(loaded));
      await this.#persistence.start();
    }
  }

  /** Largest number of live sessions. */
  get maxPoolSize(): number {
    return this.#options.maxPoolSize;
  }

  /** Sessions that can be handed out now. */
  get usableSessionsCount(): number {
    let count = 0;
    for (const session of this.#sessions.values()) if (session.isUsable()) count += 1;
    return count;
  }

  /** Sessions retired since the pool opened (retired sessions leave the pool at once). */
  get retiredSessionsCount(): number {
    return this.actor.getSnapshot().context.retiredCount;
  }

  /** Live sessions (usable or cooling down). */
  get sessionsCount(): number {
    return this.actor.getSnapshot().context.sessionCount;
  }

  /**
   * A usable session, as Crawlee's `SessionPool.getSession()` gives one: a new one while the pool has room,
   * otherwise one picked by `sessionReuseStrategy`; initialized (`initSession`), and waiting (bounded by
   * `sessionWaitTimeoutMs`) while none is usable. **No use is reserved**: the caller reports the outcome with
   * `markGood()`/`markBad()`, and until then other callers may get the same session (Crawlee's meaning). To hold a
   * use while a request is in flight, use {@link SessionPool.acquire} or {@link SessionPool.withSession}.
   *
   * With an id: that live session, or `undefined` if it does not exist or has retired.
   *
   * @example
   * ```ts
   * const session = await pool.getSession();
   * session.markGood();
   * ```
   */
  async getSession(options?: { signal?: AbortSignal }): Promise<Session>;
  async getSession(sessionId: string): Promise<Session | undefined>;
  async getSession(arg?: string | { signal?: AbortSignal }): Promise<Session | undefined> {
    this.#assertRunning();
    if (typeof arg === 'string') return this.#sessions.get(arg);
    if (arg !== undefined && (typeof arg !== 'object' || arg === null)) {
      throw new InvalidOptionError('sessionId', `expected a session id or { signal }, got ${typeof arg}`);
    }
    return this.#acquirer.getSession(arg?.signal);
  }

  /**
   * Reserves one use of a session and returns its lease: the session is chosen as `getSession()` chooses, and
   * while the lease is held its use counts against `maxUsageCount` (so no number of concurrent requests can pass
   * it) and against `maxConcurrencyPerSession`. End the lease with `markGood()`, `markBad()`, `retire()` or
   * `release(outcome)`; `await using` releases it as a failure if no outcome was given. Waits (bounded by
   * `sessionWaitTimeoutMs` and `signal`) while no session can take a request.
   *
   * @example
   * ```ts
   * await using lease = await pool.acquire({ signal: AbortSignal.timeout(10_000) });
   * const response = await fetch(url, { dispatcher: lease.session.dispatcher });
   * if (response.ok) lease.markGood();
   * ```
   */
  acquire(options: AcquireOptions = {}): Promise<SessionLease> {
    this.#assertRunning();
    return this.#acquirer.acquire(options);
  }

  /**
   * Runs `task` on a reserved use of a session: the use ends as `good` when `task` resolves and as `bad` when it
   * throws (the error is rethrown), unless `task` ended it itself through `lease` (`lease.retire()`, …). Send the
   * request with `dispatcher` (the session's, reserving nothing more: this use is the request's) and `signal`
   * (aborts when `options.signal` does or the pool is torn down; an aborted task's use counts, without blame).
   *
   * @example
   * ```ts
   * const html = await pool.withSession(async (session, { dispatcher, signal }) => {
   *   const response = await fetch(url, { dispatcher, signal });
   *   if (!response.ok) throw new Error(`status ${response.status}`);
   *   return response.text();
   * });
   * ```
   */
  async withSession<T>(
    task: (session: Session, use: SessionUse) => T | Promise<T>,
    options: AcquireOptions = {},
  ): Promise<T> {
    if (typeof task !== 'function')
      throw new InvalidOptionError('task', `expected a function, got ${typeof task}`);
    const lease = await this.acquire(options);
    try {
      const result = await task(lease.session, { signal: lease.signal, dispatcher: lease.dispatcher, lease });
      lease.release(lease.aborted ? 'aborted' : 'good');
      return result;
    } catch (error) {
      lease.release(lease.aborted ? 'aborted' : 'bad');
      throw error;
    }
  }

  /** Uses reserved by requests in flight and not yet released. */
  get reservedUsesCount(): number {
    return this.#acquirer.openLeases;
  }

  /**
   * What the pool has done: scrapy-zyte-api's session counters (`init/check-passed`, `init/failed`,
   * `use/check-passed`, `use/check-failed`, `use/failed`, `use/blocked`, `use/expired`), sessions by where they
   * stand, and reserved uses by how they ended. Counts start when this pool object opens, except `created` and
   * `retired`, which carry over a restore.
   *
   * @example
   * ```ts
   * const { 'use/failed': failed, sessions } = pool.stats();
   * console.log(`${failed} failed requests, ${sessions.live} live sessions`);
   * ```
   */
  stats(): PoolStats & FleetPoolStats {
    const { createdCount, retiredCount, sessionCount } = this.actor.getSnapshot().context;
    return {
      ...this.#tally.counters,
      sessions: {
        created: createdCount,
        retired: retiredCount,
        live: sessionCount,
        usable: this.usableSessionsCount,
        retiredByReason: { ...this.#tally.retiredByReason },
      },
      uses: { reserved: this.#acquirer.openLeases, ...this.#tally.uses },
      ...(this.#options.fleet ? { fleet: this.#options.fleet.stats() } : {}),
    };
  }

  /**
   * Fetches `url` on a reserved use of a session (its cookies, proxy and header profile), applies the outcome to
   * it, and retries on other sessions after a block or failure (`maxSessionRotations`). See the README, "Crawling
   * through sessions (HTTP)".
   *
   * @example
   * ```ts
   * const page = await pool.fetch('https://example.com/', { signal: AbortSignal.timeout(30_000) });
   * console.log(page.statusCode, page.session.id, page.text().length);
   * ```
   */
  fetch(url: string | URL, init?: SessionFetchInit): Promise<SessionResponse> {
    this.#assertRunning();
    return this.#http.fetch(url, init);
  }

  /**
   * An undici Dispatcher that reserves a use of a session per request and reports its outcome, for undici
   * `request`/`fetch`.
   *
   * @example
   * ```ts
   * const response = await fetch('https://example.com/', { dispatcher: pool.dispatcher });
   * ```
   */
  get dispatcher(): Dispatcher {
    return this.#http.dispatcher;
  }

  /** Clears a session's cookies and re-runs `initSession`; its requests meanwhile wait. */
  async renewSession(sessionId: string): Promise<void> {
    this.#assertRunning();
    const session = this.#sessions.get(sessionId);
    if (!session) throw new UnknownSessionError(sessionId);
    return this.#http.renew(session);
  }

  /**
   * Adds a session with the given options (merged over `sessionOptions`). A duplicate id is an error. On a fleet
   * pool the session is created in the fleet's store, within `maxPoolSize` fleet-wide, under an id the fleet has
   * never used, and any worker may be granted it.
   */
  async addSession(options: SessionOptions = {}): Promise<Session> {
    this.#assertRunning();
    const fleet = this.#options.fleet;
    if (fleet) return fleet.add(this.#recordFor(options), this.#options.http.sessionWaitTimeoutMs);
    return this.#spawn(options);
  }

  /**
   * Adds many sessions at once, e.g. to pre-warm a pool: `count` sessions built by `createSessionFunction` (or
   * from `sessionOptions`), or one per options object. All or none: a duplicate id or a batch that would pass
   * `maxPoolSize` throws before anything is added. Much faster than one `addSession` per session. On a fleet pool
   * the sessions are added to the fleet one by one: bad options throw before any is added, but a full fleet or
   * an id already used stops the batch with the sessions before it added.
   */
  async addSessions(countOrOptions: number | readonly SessionOptions[]): Promise<Session[]> {
    this.#assertRunning();
    const count = Array.isArray(countOrOptions) ? countOrOptions.length : countOrOptions;
    if (!Array.isArray(countOrOptions)) {
      if (typeof countOrOptions !== 'number') {
        throw new InvalidOptionError(
          'countOrOptions',
          `expected a number of sessions or an array of session options, got ${typeof countOrOptions}`,
        );
      }
      numberOption('count', countOrOptions, 0, { integer: true, min: 0 });
    }
    // Room is checked before anything is built: a huge count fails at once, not after building every input. A
    // fleet pool's local copies say nothing of the fleet's room: its store checks each addition.
    const held = this.#options.fleet ? 0 : this.sessionsCount + this.#creations.size;
    if (held + (count as number) > this.#options.maxPoolSize) {
      throw new PoolFullError(this.#options.maxPoolSize);
    }
    let options: readonly SessionOptions[];
    if (typeof countOrOptions === 'number') {
      const create = this.#options.createSessionFunction;
      const defaults = this.#options.sessionOptions;
      options = create
        ? await Promise.all(
            Array.from({ length: countOrOptions }, () => create(this, { sessionOptions: { ...defaults } })),
          )
        : Array.from({ length: countOrOptions }, () => ({}));
      this.#assertRunning();
    } else {
      options = countOrOptions;
    }
    const fleet = this.#options.fleet;
    if (fleet) {
      const records = options.map((option) => this.#recordFor(option));
      const added: Session[] = [];
      for (const record of records) {
        added.push(await fleet.add(record, this.#options.http.sessionWaitTimeoutMs));
      }
      return added;
    }
    return this.#spawnAll(options.map((option) => this.#inputFor(option)));
  }

  /**
   * Sends an event to a live session through the pool actor.
   * Throws `UnknownSessionError` for an id that does not exist or has retired.
   */
  send(sessionId: string, event: SessionEvent): void {
    this.#assertRunning();
    if (!this.#sessions.has(sessionId)) throw new UnknownSessionError(sessionId);
    this.actor.send({ type: 'pool.sendToSession', sessionId, event });
  }

  /** Retires a live session by id (`UnknownSessionError` if there is none). */
  retireSession(sessionId: string): void {
    this.send(sessionId, { type: 'session.retire', reason: 'manual' });
  }

  /** Every live session's handle. */
  sessions(): IterableIterator<Session> {
    return this.#sessions.values();
  }

  /** JSON-safe state of the pool and every live session. */
  getState(): SessionPoolState {
    return {
      usableSessionsCount: this.usableSessionsCount,
      retiredSessionsCount: this.retiredSessionsCount,
      sessions: [...this.#sessions.values()].map((session) => session.getState()),
    };
  }

  /**
   * Writes the pool's state to its store now and resolves once it is durable (in write-through mode: once every
   * change made so far is). Rejects with `PersistWriteError` if the write fails. Does nothing without a store.
   */
  async persistState(): Promise<void> {
    this.#assertRunning();
    await this.#persistence?.persistState();
  }

  /**
   * Removes the stored state. Before `initialize()`: the pool starts empty. On a running pool the live sessions
   * stay, and the next write stores them again.
   */
  async resetStore(): Promise<void> {
    if (this.#status === 'stopped') throw new PoolNotRunningError('it was torn down');
    await this.#persistence?.resetStore(this.#status === 'running');
  }

  /**
   * Imports the sessions of Crawlee's persisted pool state (`SDK_SESSION_POOL_STATE` /
   * `CRAWLEE_SESSION_POOL_STATE`, as an object or JSON text): ids, cookies, scores, usage, deadlines, userData.
   * Sessions Crawlee would no longer use retire at once with `sessionRetired`.
   */
  async importCrawleeState(state: CrawleeSessionPoolState | string): Promise<CrawleeImportResult> {
    this.#assertRunning();
    if (this.#persistence) return this.#persistence.importCrawleeState(state);
    return importCrawleeSessions(state, this.#persistenceHost);
  }

  /**
   * The pool's live sessions as Crawlee's `SessionPool` state document (`SDK_SESSION_POOL_STATE`): ids, usage and
   * error counts, limits, dates, userData and cookie jars. Store it under Crawlee's `persistStateKey` and Crawlee's
   * own `SessionPool.open()` restores them; the way back from `importCrawleeState()`.
   *
   * @example
   * ```ts
   * const store = await KeyValueStore.open();
   * await store.setValue('SDK_SESSION_POOL_STATE', pool.exportCrawleeState());
   * ```
   */
  exportCrawleeState(options?: ExportCrawleeStateOptions): CrawleeExportedPoolState {
    this.#assertRunning();
    return exportCrawleeState(this.getState(), options);
  }

  /**
   * @internal Spawns sessions from saved records (context, counters and cookie jar), as `initialize()` does from
   * the store: the Redis-shared pool mirrors sessions other workers created with it. Records with a
   * `retirementReason` retire at once with `sessionRetired`. Returns the ids now alive.
   */
  adoptSavedSessions(records: readonly PersistedSessionRecord[]): string[] {
    this.#assertRunning();
    return adoptRecords(records, this.#persistenceHost).alive;
  }

  /**
   * In write-through mode, `sessionCreated`, `sessionStateChanged` and `sessionRetired` are emitted only once the
   * change they report is durable in the store.
   */
  override emit<T extends EventEmitter.EventNames<SessionPoolEvents>>(
    event: T,
    ...args: EventEmitter.EventArgs<SessionPoolEvents, T>
  ): boolean {
    const persistence = this.#persistence;
    if (
      persistence &&
      (event === 'sessionCreated' || event === 'sessionStateChanged' || event === 'sessionRetired')
    ) {
      persistence.report(() => super.emit(event, ...args));
      return this.listenerCount(event) > 0;
    }
    return super.emit(event, ...args);
  }

  /** Stops every actor. Sessions do not retire (no `sessionRetired`); the pool cannot be used again. */
  async teardown(): Promise<void> {
    if (this.#status === 'stopped') return;
    // Started before the actors stop, so the final write captures every session.
    // Open leases are revoked first: their uses are counted in the machines, so the final write has them.
    this.#acquirer.close();
    const persisted = this.#status === 'running' ? this.#persistence?.close() : this.#persistence?.release();
    this.#status = 'stopped';
    this.actor.stop();
    this.#sessions.clear();
    await Promise.all([persisted, this.#http.close(), this.#options.fleet?.close()]);
  }

  #createPersistenceHost(): PersistenceHost {
    return {
      clock: this.#clock,
      cookieLimits: this.#cookieLimits,
      blockedStatusCodes: this.#options.blockedStatusCodes,
      session: (id) => this.#sessions.get(id),
      sessions: () => this.#sessions.values(),
      counters: () => {
        const { createdCount, retiredCount } = this.actor.getSnapshot().context;
        return { createdCount, retiredCount };
      },
      setCounters: (counters) => this.actor.send({ type: 'pool.restoreCounters', ...counters }),
      adopt: (inputs, jars) => {
        const taken = inputs.filter((input) => this.#sessions.has(input.id)).map((input) => input.id);
        for (const [id, jar] of jars) if (!this.#sessions.has(id)) this.#pendingJars.set(id, jar);
        this.actor.send({ type: 'pool.addSessions', sessions: inputs });
        // A jar still pending belongs to a session the pool refused (pool full).
        return taken.concat(
          inputs.filter((input) => this.#pendingJars.delete(input.id)).map((input) => input.id),
        );
      },
      persistError: (event) => this.emit('persistError', event),
      cookieDropped: (rejection) => this.emit('cookieRejected', rejection),
      statePersisted: (event) => this.emit('statePersisted', event),
    };
  }

  #assertRunning(): void {
    if (this.#status !== 'running') {
      throw new PoolNotRunningError(
        this.#status === 'created'
          ? 'call initialize() (or use SessionPool.open()) first'
          : 'it was torn down',
      );
    }
  }

  #viewed: { snapshot: unknown; view: PoolView } | undefined;

  /** The pool actor's shards and slots as of its current snapshot; the same object until the pool transitions. */
  #view(): PoolView {
    const snapshot = this.actor.getSnapshot();
    if (this.#viewed?.snapshot !== snapshot) {
      const view = { context: snapshot.context, children: snapshot.children as PoolView['children'] };
      this.#viewed = { snapshot, view };
    }
    return this.#viewed.view;
  }

  #hasRoom(): boolean {
    return this.sessionsCount + this.#creations.size < this.#options.maxPoolSize;
  }

  async #createSession(): Promise<Session> {
    const create = this.#options.createSessionFunction;
    if (!create) return this.#spawn({});
    const options = Promise.resolve(create(this, { sessionOptions: { ...this.#options.sessionOptions } }));
    this.#creations.add(options);
    try {
      await options;
    } finally {
      this.#creations.delete(options);
    }
    this.#assertRunning();
    return this.#spawn(await options);
  }

  #spawn(options: SessionOptions): Session {
    const [session] = this.#spawnAll([this.#inputFor(options)]);
    return session as Session;
  }

  #inputFor(options: SessionOptions): SessionInput {
    const input = buildSessionInput(options, this.#options, this.#clock.now());
    // Without `initSession` there is nothing to run before a first use: ready from the start, no event later.
    return this.#options.http.initSession ? input : { ...input, readiness: 'ready' };
  }

  /** Spawns all inputs with one pool event (one spawn batch per shard); checks ids and room first. */
  #spawnAll(inputs: readonly SessionInput[]): Session[] {
    const ids = new Set<string>();
    for (const { id } of inputs) {
      if (this.#sessions.has(id) || ids.has(id)) throw new DuplicateSessionError(id);
      ids.add(id);
    }
    if (this.sessionsCount + inputs.length > this.#options.maxPoolSize) {
      throw new PoolFullError(this.#options.maxPoolSize);
    }
    this.actor.send({ type: 'pool.addSessions', sessions: inputs });
    return inputs.map(({ id }) => {
      const session = this.#sessions.get(id);
      if (!session) throw new DuplicateSessionError(id);
      return session;
    });
  }

  /** The record of a new session of a fleet, built from its options as a local session is. */
  #recordFor(options: SessionOptions): PersistedSessionRecord {
    const input = this.#inputFor(options);
    return {
      ...sessionContextFrom(input),
      blockedStatusCodes: [...input.blockedStatusCodes],
      cookieJar: null,
    };
  }

  /** What a fleet (`fleet` option) reads and does in this pool. */
  #fleetHost(): FleetHost {
    const http = this.#options.http;
    return {
      maxPoolSize: this.#options.maxPoolSize,
      maxConcurrencyPerSession: http.maxConcurrencyPerSession,
      minDelayBetweenUsesMs: http.minDelayBetweenUsesMs,
      session: (id) => this.#sessions.get(id),
      adopt: (record) => this.#sessions.get(adoptRecords([record], this.#persistenceHost).alive[0] ?? ''),
      newSessionRecord: async () => {
        const create = this.#options.createSessionFunction;
        const given = create
          ? await create(this, { sessionOptions: { ...this.#options.sessionOptions } })
          : {};
        return this.#recordFor(given);
      },
      retire: (id, reason) => this.#sessions.get(id)?.send({ type: 'session.retire', reason }),
      emit: (event, ...args) => (this.emit as (name: string, ...rest: unknown[]) => boolean)(event, ...args),
    };
  }

  #createAcquirer(): SessionAcquirer {
    const http = this.#options.http;
    const fleet = this.#options.fleet;
    const host: AcquisitionHost = {
      clock: this.#clock,
      tally: this.#tally,
      options: {
        strategy: this.#options.sessionReuseStrategy,
        initSession: http.initSession,
        maxBadInits: http.maxBadInits,
        maxConcurrencyPerSession: http.maxConcurrencyPerSession,
        minDelayBetweenUsesMs: http.minDelayBetweenUsesMs,
        sessionWaitTimeoutMs: http.sessionWaitTimeoutMs,
      },
      session: (id) => this.#sessions.get(id),
      sessions: () => this.#sessions.values(),
      view: (): PoolView => this.#view(),
      hasRoom: () => this.#hasRoom(),
      createSession: () => this.#createSession(),
      createSessionNow: () => (this.#options.createSessionFunction ? undefined : this.#spawn({})),
      creations: () => this.#creations,
      helpersFor: (session, renewal) => this.#http.helpersFor(session, renewal),
      dispatcherFor: (session) => this.#http.transportOf(session).core,
      scrub: (message) => this.#http.scrub(message),
    };
    return fleet ? new FleetAcquirer(host, fleet) : new SessionAcquirer(host);
  }

  #onSessionCreated(sessionId: string): void {
    const ref = findSessionRef(this.actor.system, sessionId);
    if (!ref) return; // retired while being spawned; #onSessionRetired reports it.
    const restored = this.#pendingJars.get(sessionId);
    this.#pendingJars.delete(sessionId);
    if (restored) this.#reportEvictions(sessionId, restored);
    const session = new Session(ref, restored, this.#host);
    this.#sessions.set(sessionId, session);
    this.#persistence?.track(session);
    // Proxies and profiles are bound in creation order; otherwise a transport is made on first use only.
    if (this.#http.assignsBindings) this.#http.transportOf(session);
    this.emit('sessionCreated', session);
    this.#acquirer.changes.notify();
  }

  /** A session's jar, made on its first cookie access; its evictions are reported as `cookiesEvicted`. */
  #createCookieJar(sessionId: string): CookieJar {
    return this.#reportEvictions(sessionId, createCookieJar(this.#cookieLimits));
  }

  #reportEvictions(sessionId: string, jar: CookieJar): CookieJar {
    onCookiesEvicted(jar, (evictions) => this.emit('cookiesEvicted', { sessionId, ...evictions }));
    return jar;
  }

  #onStateChanged(event: Extract<PoolEmitted, { type: 'sessionStateChanged' }>): void {
    const session = this.#sessions.get(event.sessionId);
    if (session) this.emit('sessionStateChanged', { session, state: event.state });
    this.#acquirer.changes.notify();
  }

  #onSessionRetired(event: Extract<PoolEmitted, { type: 'sessionRetired' }>): void {
    const session =
      this.#sessions.get(event.sessionId) ??
      new Session(retiredSessionActor(event.session), this.#pendingJars.get(event.sessionId), this.#host);
    this.#sessions.delete(event.sessionId);
    this.#pendingJars.delete(event.sessionId);
    this.#persistence?.forget(event.sessionId);
    this.#http.release(event.sessionId);
    this.#acquirer.forget(event.sessionId);
    this.#options.fleet?.sessionRetired(event.sessionId, event.reason);
    this.#tally.retired(event.reason);
    this.emit('sessionRetired', { session, reason: event.reason, state: session.getState() });
  }
}

export type {
  EventRejectedEvent,
  SessionPoolEvents,
  SessionPoolState,
  SessionRetiredEvent,
  SessionStateChangedEvent,
} from './pool-events.js';
