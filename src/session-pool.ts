import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'eventemitter3';
import { type Actor, createActor } from 'xstate';
import { findSessionRef, type PoolEmitted, type poolMachine } from '../machines/pool.machine.js';
import type {
  SessionContext,
  SessionEvent,
  SessionInput,
  SessionStateName,
} from '../machines/session.machine.js';
import { type Clock, systemClock } from './clock.js';
import { type CookieJar, type CookieLimits, createCookieJar } from './cookies.js';
import {
  DuplicateSessionError,
  NoUsableSessionError,
  PoolFullError,
  PoolNotRunningError,
  UnknownSessionError,
} from './errors.js';
import {
  type ResolvedPoolOptions,
  resolvePoolOptions,
  resolveSessionOptions,
  type SessionOptions,
  type SessionPoolOptions,
} from './options.js';
import { type Cursor, type PoolView, pickRandom, pickRoundRobin } from './selection.js';
import { type CookieRejection, Session, type SessionHost, type SessionState } from './session.js';
import { createPoolLogic, detachedSessionRef } from './supervisor.js';

/** Payload of `sessionRetired`. */
export interface SessionRetiredEvent {
  session: Session;
  reason: SessionContext['retirementReason'] & string;
  /** The session's final state, cookie jar included. */
  state: SessionState;
}

/** Payload of `sessionStateChanged`. */
export interface SessionStateChangedEvent {
  session: Session;
  state: SessionStateName;
}

/** Payload of `eventRejected`: an event for a session id that is unknown or retired. */
export interface EventRejectedEvent {
  sessionId: string;
  eventType: string;
}

/** Events of a `SessionPool`; subscribe with `pool.on(name, listener)`. */
export interface SessionPoolEvents {
  sessionCreated: (session: Session) => void;
  sessionStateChanged: (event: SessionStateChangedEvent) => void;
  sessionRetired: (event: SessionRetiredEvent) => void;
  eventRejected: (event: EventRejectedEvent) => void;
  cookieRejected: (rejection: CookieRejection) => void;
}

/** JSON-safe picture of the pool, shaped like Crawlee's `SessionPool.getState()`. */
export interface SessionPoolState {
  usableSessionsCount: number;
  retiredSessionsCount: number;
  sessions: SessionState[];
}

type PoolActor = Actor<typeof poolMachine>;

/**
 * A pool of crawler sessions, each a live XState actor, supervised by a pool actor. Names follow Crawlee's
 * `SessionPool`; the pool keeps no copy of session state: it sends events and reads snapshots.
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
  #status: 'created' | 'running' | 'stopped' = 'created';
  #pendingCreations = 0;
  #cursor: Cursor = { shard: 0, slot: 0 };
  #current: Session | undefined;

  /** Opens a pool: constructs and initializes it. */
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
    this.#host = {
      now: () => clock.now(),
      reportCookieRejected: (rejection) => this.emit('cookieRejected', rejection),
    };
    this.actor = createActor(
      createPoolLogic(() => clock.now()),
      {
        input: { maxPoolSize: this.#options.maxPoolSize, shardCapacity: this.#options.shardCapacity },
        clock,
        ...(this.#options.inspect ? { inspect: this.#options.inspect } : {}),
      },
    );
    this.actor.on('sessionCreated', (event) => this.#onSessionCreated(event.sessionId));
    this.actor.on('sessionStateChanged', (event) => this.#onStateChanged(event));
    this.actor.on('sessionRetired', (event) => this.#onSessionRetired(event));
    this.actor.on('eventRejected', (event) => this.emit('eventRejected', event));
  }

  /** Starts the pool's actors. Idempotent. */
  async initialize(): Promise<void> {
    if (this.#status === 'stopped') throw new PoolNotRunningError('it was torn down');
    if (this.#status === 'running') return;
    this.actor.start();
    this.#status = 'running';
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
   * A usable session: a new one while the pool has room, otherwise one picked by `sessionReuseStrategy`.
   * With an id: that live session, or `undefined` if it does not exist or has retired.
   */
  async getSession(): Promise<Session>;
  async getSession(sessionId: string): Promise<Session | undefined>;
  async getSession(sessionId?: string): Promise<Session | undefined> {
    this.#assertRunning();
    if (sessionId !== undefined) return this.#sessions.get(sessionId);
    if (this.#options.sessionReuseStrategy === 'use-until-failure') {
      const current = this.#current;
      if (current?.isUsable() && current.errorScore === 0) return current;
    }
    const session = this.#hasRoom() ? await this.#createSession() : this.#pickExisting();
    this.#current = session;
    return session;
  }

  /** Adds a session with the given options (merged over `sessionOptions`). A duplicate id is an error. */
  async addSession(options: SessionOptions = {}): Promise<Session> {
    this.#assertRunning();
    return this.#spawn(options);
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

  /** Stops every actor. Sessions do not retire (no `sessionRetired`); the pool cannot be used again. */
  async teardown(): Promise<void> {
    if (this.#status === 'stopped') return;
    this.#status = 'stopped';
    this.actor.stop();
    this.#sessions.clear();
    this.#current = undefined;
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

  #hasRoom(): boolean {
    return this.sessionsCount + this.#pendingCreations < this.#options.maxPoolSize;
  }

  async #createSession(): Promise<Session> {
    const create = this.#options.createSessionFunction;
    if (!create) return this.#spawn({});
    this.#pendingCreations += 1;
    let options: SessionOptions;
    try {
      options = await create(this, { sessionOptions: { ...this.#options.sessionOptions } });
    } finally {
      this.#pendingCreations -= 1;
    }
    this.#assertRunning();
    return this.#spawn(options);
  }

  #spawn(options: SessionOptions): Session {
    const resolved = resolveSessionOptions(options, this.#options.sessionOptions, 'sessionOptions.');
    const id = resolved.id ?? `session_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
    if (this.#sessions.has(id)) throw new DuplicateSessionError(id);
    if (this.sessionsCount >= this.#options.maxPoolSize) throw new PoolFullError(this.#options.maxPoolSize);
    const now = this.#clock.now();
    const input: SessionInput = {
      id,
      createdAt: now,
      expiresAt: now + resolved.maxAgeSecs * 1000,
      maxUsageCount: resolved.maxUsageCount,
      maxErrorScore: resolved.maxErrorScore,
      errorScoreDecrement: resolved.errorScoreDecrement,
      blockedStatusCodes: this.#options.blockedStatusCodes,
      userData: resolved.userData,
    };
    this.actor.send({ type: 'pool.addSessions', sessions: [input] });
    const session = this.#sessions.get(id);
    if (!session) throw new DuplicateSessionError(id);
    return session;
  }

  #pickExisting(): Session {
    const snapshot = this.actor.getSnapshot();
    const view: PoolView = { context: snapshot.context, children: snapshot.children as PoolView['children'] };
    const accept = (id: string) => this.#sessions.get(id)?.isUsable() ?? false;
    let id: string | undefined;
    if (this.#options.sessionReuseStrategy === 'round-robin') {
      const picked = pickRoundRobin(view, this.#cursor, accept);
      if (picked) this.#cursor = picked.next;
      id = picked?.id;
    } else {
      id = pickRandom(view, accept);
    }
    const session = id === undefined ? undefined : this.#sessions.get(id);
    if (!session) {
      throw new NoUsableSessionError(
        `all ${this.sessionsCount} sessions are cooling down and the pool is at maxPoolSize (${this.maxPoolSize})`,
      );
    }
    return session;
  }

  #onSessionCreated(sessionId: string): void {
    const ref = findSessionRef(this.actor.system, sessionId);
    if (!ref) return; // retired while being spawned; #onSessionRetired reports it.
    const jar = this.#pendingJars.get(sessionId) ?? createCookieJar(this.#cookieLimits);
    this.#pendingJars.delete(sessionId);
    const session = new Session(ref, jar, this.#host);
    this.#sessions.set(sessionId, session);
    this.emit('sessionCreated', session);
  }

  #onStateChanged(event: Extract<PoolEmitted, { type: 'sessionStateChanged' }>): void {
    const session = this.#sessions.get(event.sessionId);
    if (session) this.emit('sessionStateChanged', { session, state: event.state });
  }

  #onSessionRetired(event: Extract<PoolEmitted, { type: 'sessionRetired' }>): void {
    const session =
      this.#sessions.get(event.sessionId) ??
      new Session(
        detachedSessionRef(event.session),
        this.#pendingJars.get(event.sessionId) ?? createCookieJar(this.#cookieLimits),
        this.#host,
      );
    this.#sessions.delete(event.sessionId);
    this.#pendingJars.delete(event.sessionId);
    if (this.#current === session) this.#current = undefined;
    this.emit('sessionRetired', { session, reason: event.reason, state: session.getState() });
  }
}
