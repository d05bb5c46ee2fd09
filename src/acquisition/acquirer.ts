/**
 * Acquisition: the one way a session is handed out, whoever asks (`pool.getSession`, `pool.acquire`,
 * `pool.withSession`, `pool.fetch`, `pool.dispatcher`, `session.dispatcher`).
 *
 *   1. choose: the session `use-until-failure` keeps, else a new one while the pool has room, else one picked
 *      by the reuse strategy among those that can take the request (rotation exclusions honoured);
 *   2. make it ready: run `initSession` on a pending session (shared by every request waiting for it), wait out
 *      a renewal;
 *   3. reserve: one use, in the session's machine (`session.reserve`), which refuses unless the session has an
 *      unreserved use, a free concurrency slot and no pacing wait. A reserved use is held by a `SessionLease`
 *      until its outcome releases it.
 *
 * When nothing can take the request, it waits (bounded by `sessionWaitTimeoutMs` and the caller's `AbortSignal`)
 * for a change that may free a session, and fails fast when none can come.
 *
 * The seam for a shared store: `UseGrantor` reserves and releases uses. The local grantor talks to the session
 * machines; a fleet grantor reserves atomically in its store and releases there, and everything around it
 * (choice, readiness, waiting, leases) stays the same.
 */
import type { Dispatcher } from 'undici';
import {
  canReserveAt,
  hasUnreservedUse,
  type ReleaseOutcome,
  type SessionContext,
  stateNameOf,
  USABLE_STATES,
} from '../../machines/session.machine.js';
import type { Clock } from '../clock.js';
import { NoUsableSessionError, PoolNotRunningError, UnknownSessionError } from '../errors.js';
import type { InitSessionFunction, InitSessionHelpers } from '../http/types.js';
import type { SessionReuseStrategy } from '../options.js';
import type { PoolTally } from '../pool-stats.js';
import type { Session } from '../session.js';
import { ChangeSignal } from './change-signal.js';
import { Initializer } from './initializer.js';
import { SessionLease } from './lease.js';
import { type PoolView, SessionPicker } from './strategy.js';

/** The limits acquisition applies. */
export interface AcquisitionOptions {
  strategy: SessionReuseStrategy;
  initSession: InitSessionFunction | undefined;
  maxBadInits: number;
  maxConcurrencyPerSession: number;
  minDelayBetweenUsesMs: number;
  sessionWaitTimeoutMs: number;
}

/** What acquisition needs of the pool that owns the sessions. */
export interface AcquisitionHost {
  readonly clock: Clock;
  readonly options: AcquisitionOptions;
  /** Counts inits and released uses for `pool.stats()`. */
  readonly tally: PoolTally;
  session(id: string): Session | undefined;
  sessions(): Iterable<Session>;
  /** The pool's shards and slots, for O(1) picks. */
  view(): PoolView;
  /** Whether a new session fits (creations in flight counted). */
  hasRoom(): boolean;
  /** Creates a session (with `createSessionFunction` when given). */
  createSession(): Promise<Session>;
  /** Creates a session at once, or undefined when that takes an async `createSessionFunction`. */
  createSessionNow(): Session | undefined;
  /** Creations in flight: when every free slot is taken by one, a request shares its result. */
  creations(): ReadonlySet<Promise<unknown>>;
  /** Init helpers bound to one session (requests that count no use and apply no outcome). */
  helpersFor(session: Session, renewal: boolean): InitSessionHelpers;
  /** The session's dispatcher that reserves nothing (a lease's `dispatcher`). */
  dispatcherFor(session: Session): Dispatcher;
  scrub(message: string): string;
}

/** Reserves and releases uses: the session machines locally, a shared store for a fleet. */
export interface UseGrantor {
  /** Reserves one use of `session` at `at`; false when the session cannot take a request now. */
  tryReserve(session: Session, at: number): boolean;
  /** Ends one reserved use. */
  release(session: Session, outcome: ReleaseOutcome): void;
}

/** How a request wants its session. */
export interface AcquireOptions {
  /** Aborts the wait for a session, and later the lease's `signal`. */
  signal?: AbortSignal | undefined;
  /** This session (or id) only: waits until it can take the request; `UnknownSessionError` once it retired. */
  session?: Session | string | undefined;
  /** Sessions already tried by this request (rotation): taken again only when no other can serve. */
  exclude?: ReadonlySet<string> | undefined;
}

/** Reserves in the session's own machine, which holds the count and refuses a use that is not there. */
function localGrantor(options: AcquisitionOptions): UseGrantor {
  return {
    tryReserve(session, at) {
      const before = session.reservedUses;
      session.send({
        type: 'session.reserve',
        at,
        maxConcurrency: options.maxConcurrencyPerSession,
        minDelayMs: options.minDelayBetweenUsesMs,
      });
      return session.reservedUses > before;
    },
    release(session, outcome) {
      session.send({ type: 'session.release', outcome });
    },
  };
}

function contextOf(session: Session): { state: string; context: SessionContext } {
  const snapshot = session.actor.getSnapshot();
  return { state: stateNameOf(snapshot.value), context: snapshot.context };
}

const RETRY = Symbol('retry');

export class SessionAcquirer {
  /** Wakes waiting requests; the pool notifies it of new, changed and retired sessions. */
  readonly changes = new ChangeSignal();
  readonly initializer: Initializer;
  readonly #host: AcquisitionHost;
  readonly #options: AcquisitionOptions;
  readonly #grantor: UseGrantor;
  readonly #picker: SessionPicker;
  readonly #open = new Set<SessionLease>();
  readonly #releaseUse = (lease: SessionLease, outcome: ReleaseOutcome) => {
    this.#open.delete(lease);
    this.#host.tally.use(outcome);
    this.#grantor.release(lease.session, outcome);
    this.changes.notify();
  };
  #closed = false;

  constructor(host: AcquisitionHost, grantor?: UseGrantor) {
    this.#host = host;
    this.#options = host.options;
    this.#grantor = grantor ?? localGrantor(host.options);
    this.#picker = new SessionPicker(host.options.strategy);
    this.initializer = new Initializer({
      clock: host.clock,
      initSession: host.options.initSession,
      maxBadInits: host.options.maxBadInits,
      sessionWaitTimeoutMs: host.options.sessionWaitTimeoutMs,
      signal: this.changes,
      tally: host.tally,
      helpersFor: (session, renewal) => host.helpersFor(session, renewal),
      scrub: (message) => host.scrub(message),
    });
  }

  /** Leases held now (uses reserved and not yet released). */
  get openLeases(): number {
    return this.#open.size;
  }

  /**
   * A session for the caller to use as it likes, with no use reserved (Crawlee's `getSession()`): initialized,
   * waiting (bounded) while none is usable. A session whose remaining uses are all reserved is not handed out.
   */
  getSession(signal?: AbortSignal): Promise<Session> {
    const session = this.getSessionNow(signal);
    if (session) return Promise.resolve(session);
    return this.#acquire({ signal }, false) as Promise<Session>;
  }

  /**
   * The common case of `getSession()`, without a promise: a session to hand out now (kept, new or picked) that
   * needs no `initSession` run. Undefined when the caller has to wait or an init has to run.
   */
  getSessionNow(signal?: AbortSignal): Session | undefined {
    if (this.#closed || this.#options.initSession || this.initializer.failure || signal?.aborted)
      return undefined;
    this.#judgeBy(this.#host.clock.now(), false, undefined);
    // Kept and picked sessions passed `#acceptPick`; a new one is fresh.
    const session = this.#chooseNow();
    if (!session || this.initializer.ensure(session) !== true) return undefined;
    return this.#handOut(session);
  }

  /** What `#acceptPick` judges by: set before each choice, so the strategies get one function, not a new closure. */
  #pickAt = 0;
  #pickReserves = false;
  #pickExclude: ReadonlySet<string> | undefined;
  readonly #acceptPick = (id: string): boolean =>
    this.#canTake(id, this.#pickAt, this.#pickReserves, false) && !this.#pickExclude?.has(id);
  readonly #isClean = (id: string): boolean => (this.#host.session(id)?.errorScore ?? 1) === 0;
  /** For a reserved use: a session that `#acceptPick` takes and that has no request in flight. */
  readonly #isIdlePick = (id: string): boolean =>
    this.#canTake(id, this.#pickAt, this.#pickReserves, true) && !this.#pickExclude?.has(id);

  #judgeBy(at: number, reserves: boolean, exclude: ReadonlySet<string> | undefined): void {
    this.#pickAt = at;
    this.#pickReserves = reserves;
    this.#pickExclude = exclude;
  }

  /** The session `use-until-failure` keeps using, when that is the strategy and it still qualifies. */
  #keptSession(): Session | undefined {
    if (this.#options.strategy !== 'use-until-failure') return undefined;
    const id = this.#picker.current(this.#acceptPick, this.#isClean);
    return id === undefined ? undefined : this.#host.session(id);
  }

  /** A pick among the existing sessions by the reuse strategy, judged by `#acceptPick`. */
  #pickExisting(): Session | undefined {
    const id = this.#picker.pick(
      this.#host.view(),
      this.#acceptPick,
      this.#pickReserves ? this.#isIdlePick : undefined,
    );
    return id === undefined ? undefined : this.#host.session(id);
  }

  /**
   * The choice, without waiting: the kept session, else a new one while there is room (when that needs no async
   * `createSessionFunction`), else a pick. Judged by what `#judgeBy` set.
   */
  #chooseNow(): Session | undefined {
    const kept = this.#keptSession();
    if (kept) return kept;
    return this.#host.hasRoom() ? this.#host.createSessionNow() : this.#pickExisting();
  }

  /** A reserved use of a session, held by the returned lease until its outcome releases it. */
  acquire(options: AcquireOptions = {}): Promise<SessionLease> {
    const now = this.#reserveNow(options);
    if (now instanceof SessionLease) return Promise.resolve(now);
    return this.#acquire(options, true, now) as Promise<SessionLease>;
  }

  /**
   * The common case, without a promise in between: a session that can take the request now (kept, new, pinned or
   * picked), ready and reserved at once. Otherwise the request goes the whole way (waits, inits, errors), starting
   * with the session chosen here, if any (a new one must not be made twice).
   */
  #reserveNow(options: AcquireOptions): SessionLease | Session | undefined {
    if (this.#closed || this.initializer.failure || options.signal?.aborted) return undefined;
    const host = this.#host;
    const now = host.clock.now();
    let session: Session | undefined;
    if (options.session !== undefined) {
      session = host.session(typeof options.session === 'string' ? options.session : options.session.id);
    } else {
      this.#judgeBy(now, true, options.exclude);
      session = this.#chooseNow();
      if (session) this.#handOut(session);
    }
    if (!session || session.state === 'retired') return undefined;
    // A pending session is made ready here only when that takes no `initSession` run (the slow path runs it).
    if (
      session.readiness !== 'ready' &&
      (this.#options.initSession || this.initializer.ensure(session) !== true)
    ) {
      return session;
    }
    return this.#grantor.tryReserve(session, now) ? this.#lease(session, options.signal) : session;
  }

  /** Clears a session's jar and re-runs `initSession`; requests for it meanwhile wait. */
  renew(session: Session): Promise<void> {
    return this.initializer.renew(session);
  }

  /** The pool forgets a retired session. */
  forget(sessionId: string): void {
    this.#picker.forget(sessionId);
    this.changes.notify();
  }

  /** Teardown: every open lease is revoked (its signal aborts, its use ends as `aborted`), waiters fail fast. */
  close(): void {
    this.#closed = true;
    const reason = new PoolNotRunningError('it was torn down');
    for (const lease of [...this.#open]) lease.revoke(reason);
    this.changes.notify();
  }

  async #acquire(
    options: AcquireOptions,
    reserve: boolean,
    first?: Session,
  ): Promise<SessionLease | Session> {
    const { clock } = this.#host;
    const deadline = clock.now() + this.#options.sessionWaitTimeoutMs;
    const pinned = options.session === undefined ? undefined : this.#resolve(options.session);
    const signal = options.signal;
    // A session whose init this request waited for is tried again first (not a new pick, not a new session).
    let initialized: Session | undefined = first;
    for (;;) {
      this.#throwIfUnavailable(signal);
      const session = pinned ?? initialized ?? (await this.#choose(options.exclude, reserve));
      initialized = undefined;
      this.#throwIfUnavailable(signal);
      if (session === RETRY) continue;
      if (session) {
        if (session.state === 'retired') {
          if (pinned) throw this.initializer.errorFor(session) ?? new UnknownSessionError(session.id);
          continue;
        }
        const ready = this.initializer.ensure(session);
        if (ready !== true) {
          if (await abortable(ready, signal)) initialized = session;
          continue;
        }
        if (!reserve) {
          if (this.#canHandOut(session)) return this.#handOut(session);
        } else if (this.#grantor.tryReserve(session, clock.now())) {
          return this.#lease(session, signal);
        }
      }
      if (!pinned && !this.#mayFreeUp(deadline)) {
        throw new NoUsableSessionError(
          'every session is cooling down or used up past sessionWaitTimeoutMs and the pool is full',
        );
      }
      await this.changes.wait(
        clock,
        deadline,
        () =>
          new NoUsableSessionError(
            pinned
              ? `session "${pinned.id}" could not take the request within sessionWaitTimeoutMs (${this.#options.sessionWaitTimeoutMs} ms)`
              : `none became usable within sessionWaitTimeoutMs (${this.#options.sessionWaitTimeoutMs} ms)`,
          ),
        signal,
      );
    }
  }

  #throwIfUnavailable(signal: AbortSignal | undefined): void {
    if (this.#closed) throw new PoolNotRunningError('it was torn down');
    this.initializer.throwIfFailed();
    signal?.throwIfAborted();
  }

  #resolve(sessionOrId: Session | string): Session {
    const id = typeof sessionOrId === 'string' ? sessionOrId : sessionOrId.id;
    const session = this.#host.session(id);
    if (!session || session.state === 'retired') {
      const retired = typeof sessionOrId === 'string' ? undefined : sessionOrId;
      throw (retired && this.initializer.errorFor(retired)) ?? new UnknownSessionError(id);
    }
    return session;
  }

  /**
   * The session to try: the one `use-until-failure` keeps, else a new one while there is room, else a pick among
   * those that can take the request (rotation exclusions first). Undefined when none can now; `RETRY` after a
   * creation in flight finished (look again at once: its notification came before this request could wait).
   */
  async #choose(
    exclude: ReadonlySet<string> | undefined,
    reserve: boolean,
  ): Promise<Session | typeof RETRY | undefined> {
    const now = this.#host.clock.now();
    this.#judgeBy(now, reserve, exclude);
    const kept = this.#keptSession();
    if (kept) return this.#handOut(kept);
    if (this.#host.hasRoom()) return this.#handOut(await this.#host.createSession());
    let picked = this.#pickExisting();
    if (!picked && exclude !== undefined && exclude.size > 0) {
      // Only sessions this request already tried can take it: one of them, rather than none.
      this.#judgeBy(now, reserve, undefined);
      picked = this.#pickExisting();
    }
    if (picked) return this.#handOut(picked);
    const creations = this.#host.creations();
    // Every free slot is held by a creation still in flight: share its result rather than overshoot.
    if (creations.size === 0) return undefined;
    await Promise.race(creations).catch(() => undefined);
    return RETRY;
  }

  #handOut(session: Session): Session {
    this.#picker.handedOut(session.id);
    return session;
  }

  /** Whether a session may be handed out with no use reserved: usable, with a use nobody reserved. */
  #canHandOut(session: Session): boolean {
    const { state, context } = contextOf(session);
    return (
      USABLE_STATES.has(state) && hasUnreservedUse(context) && context.expiresAt > this.#host.clock.now()
    );
  }

  /** Whether the session can take a request now, or will once its pending init has run; `idleOnly`: and none is in flight. */
  #canTake(id: string, now: number, reserve: boolean, idleOnly: boolean): boolean {
    const session = this.#host.session(id);
    if (!session) return false;
    const snapshot = session.actor.getSnapshot();
    const context = snapshot.context;
    if (!USABLE_STATES.has(stateNameOf(snapshot.value)) || context.expiresAt <= now) return false;
    if (idleOnly && context.reserved > 0) return false;
    if (context.readiness === 'pending') return hasUnreservedUse(context);
    if (context.readiness !== 'ready') return false;
    return reserve
      ? canReserveAt(context, now, this.#options.maxConcurrencyPerSession)
      : hasUnreservedUse(context);
  }

  #lease(session: Session, signal: AbortSignal | undefined): SessionLease {
    const lease = new SessionLease(
      session,
      this.#releaseUse,
      () => this.#host.dispatcherFor(session),
      signal,
    );
    this.#open.add(lease);
    const delay = this.#options.minDelayBetweenUsesMs;
    // The session's pacing wait ends on the clock, not on an event: wake the waiters then.
    if (delay > 0) this.#host.clock.setTimeout(() => this.changes.notify(), delay);
    return lease;
  }

  /** Whether waiting can help: a use in flight, an init or renewal, a pacing wait, a creation, a cool-down ending in time. */
  #mayFreeUp(deadline: number): boolean {
    if (this.#host.creations().size > 0) return true;
    const now = this.#host.clock.now();
    for (const session of this.#host.sessions()) {
      const { context } = contextOf(session);
      if (context.reserved > 0 || context.nextUseAt > now) return true;
      if (context.readiness === 'initializing' || context.readiness === 'renewing') return true;
      if (this.initializer.isRunning(session)) return true;
      const until = context.blockedUntil;
      if (until !== null && until <= deadline) return true;
    }
    return false;
  }
}

/** Waits for `promise`, or rejects with the abort reason first. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
