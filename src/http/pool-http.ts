/**
 * The HTTP layer of one pool: per-session HTTP state (proxy, profile, agent, pacing), profile assignment and
 * release, session acquisition for requests (init, cool-downs, pacing, rotation exclusions) and the entry points
 * the pool delegates to (`fetch`, `dispatcher`, `renewSession`, `getSession`).
 */
import type { Dispatcher } from 'undici';
import type { Clock } from '../clock.js';
import { NoUsableSessionError, SessionInitError, UnknownSessionError } from '../errors.js';
import type { Session } from '../session.js';
import { type FetchHost, sessionFetch } from './fetch.js';
import { Initializer } from './initializer.js';
import type { ResolvedHttpOptions } from './options.js';
import { ChangeSignal, Pacer } from './pacer.js';
import { createPoolDispatcher } from './pool-dispatcher.js';
import { ProfileAssigner } from './profiles.js';
import { type ProxyConfig, scrubSecrets } from './proxy.js';
import { SessionHttp } from './session-http.js';
import {
  createGateInterceptor,
  createReporterInterceptor,
  type InterceptorHost,
} from './session-interceptors.js';
import type { HeaderProfile, InitSessionHelpers, SessionFetchInit, SessionResponse } from './types.js';

/** The part of a `SessionPool` the HTTP layer uses (structural, to keep imports one-way). */
export interface HttpPoolView {
  on(event: 'sessionCreated', listener: (session: Session) => void): unknown;
  on(event: 'sessionRetired', listener: (event: { session: Session }) => void): unknown;
  on(event: 'sessionStateChanged', listener: (event: { session: Session }) => void): unknown;
  getSession(sessionId: string): Promise<Session | undefined>;
  sessions(): IterableIterator<Session>;
}

export interface PoolHttpInit {
  pool: HttpPoolView;
  options: ResolvedHttpOptions;
  blockedStatusCodes: readonly number[];
  clock: Clock;
  /** The pool's own pick (create while there is room, else reuse): throws `NoUsableSessionError` when none. */
  pick: () => Promise<Session>;
}

/** How a request wants its session. */
interface AcquireRequest {
  /** Sessions already tried by this request; taken again only when no other is usable. */
  exclude?: ReadonlySet<string>;
  /** Take a pacing slot (requests) or not (`getSession()` hands the session to the caller). */
  takeSlot: boolean;
  signal?: AbortSignal | undefined;
}

export class PoolHttp implements InterceptorHost, FetchHost {
  readonly clock: Clock;
  readonly options: ResolvedHttpOptions;
  readonly blockedStatusCodes: readonly number[];
  readonly signal = new ChangeSignal();
  readonly #pool: HttpPoolView;
  readonly #pick: () => Promise<Session>;
  readonly #states = new Map<string, SessionHttp>();
  readonly #proxies: ProfileAssigner<ProxyConfig>;
  readonly #profiles: ProfileAssigner<Readonly<HeaderProfile>>;
  readonly #initializer: Initializer;
  readonly #interceptors = {
    gate: (http: SessionHttp) => createGateInterceptor(this, http),
    reporter: (http: SessionHttp) => createReporterInterceptor(this, http),
  };
  #dispatcher: Dispatcher | undefined;

  constructor(init: PoolHttpInit) {
    this.#pool = init.pool;
    this.options = init.options;
    this.blockedStatusCodes = init.blockedStatusCodes;
    this.clock = init.clock;
    this.#pick = init.pick;
    this.#proxies = new ProfileAssigner(init.options.proxies);
    this.#profiles = new ProfileAssigner(init.options.headerProfiles);
    this.#initializer = new Initializer({
      clock: this.clock,
      options: this.options,
      signal: this.signal,
      helpersFor: (http, renewal) => this.#helpersFor(http, renewal),
      scrub: (message) => this.scrub(message),
    });
    // Proxies and profiles are assigned in creation order; otherwise HTTP state is made on first use only.
    const assignsProfiles = this.#proxies.size > 0 || this.#profiles.size > 0;
    init.pool.on('sessionCreated', (session) => {
      if (assignsProfiles) this.stateOf(session);
      this.signal.notify();
    });
    init.pool.on('sessionRetired', ({ session }) => this.#release(session.id));
    init.pool.on('sessionStateChanged', () => this.signal.notify());
  }

  /** The HTTP state of a live session, created (profile assigned) on first sight. */
  stateOf(session: Session): SessionHttp {
    let http = this.#states.get(session.id);
    if (!http) {
      const { proxy, profile } = this.#bind(session);
      http = new SessionHttp({
        session,
        proxy,
        profile,
        pacer: new Pacer(
          this.options.maxConcurrencyPerSession,
          this.options.minDelayBetweenUsesMs,
          this.clock,
          () => this.signal.notify(),
        ),
        agentOptions: this.options.agentOptions,
        maxRedirections: this.options.maxRedirections,
        interceptors: this.#interceptors,
      });
      this.#states.set(session.id, http);
    }
    return http;
  }

  /** `pool.dispatcher`: picks a session per request. */
  get dispatcher(): Dispatcher {
    this.#dispatcher ??= createPoolDispatcher(this);
    return this.#dispatcher;
  }

  /** Redacted proxy URL of a session, or null. */
  proxyUrlOf(session: Session): string | null {
    return this.#liveState(session)?.proxy?.redacted ?? null;
  }

  /** Proxy URL of a session with its credentials (secret-bearing: see `Session.revealProxyUrl`), or null. */
  revealProxyUrlOf(session: Session): string | null {
    return this.#liveState(session)?.proxy?.url.href ?? null;
  }

  /** Header profile of a session, or null. */
  headerProfileOf(session: Session): Readonly<HeaderProfile> | null {
    return this.#liveState(session)?.profile ?? null;
  }

  dispatcherOf(session: Session): Dispatcher {
    const http = this.#liveState(session);
    if (!http) throw new UnknownSessionError(session.id);
    return http.public;
  }

  fetch(url: string | URL, init?: SessionFetchInit): Promise<SessionResponse> {
    return sessionFetch(this, url, init);
  }

  /** Clears a session's jar and re-runs `initSession`; requests for it meanwhile wait, then use the new cookies. */
  async renew(sessionOrId: Session | string): Promise<void> {
    const session = await this.resolveSession(sessionOrId);
    await this.#initializer.renew(this.stateOf(session));
  }

  async resolveSession(sessionOrId: Session | string): Promise<Session> {
    const id = typeof sessionOrId === 'string' ? sessionOrId : sessionOrId.id;
    const session = await this.#pool.getSession(id);
    if (!session || session.state === 'retired') throw new UnknownSessionError(id);
    return session;
  }

  /** What the pool's `getSession()` returns: initialized, waiting out cool-downs (bounded). */
  async getSession(): Promise<Session> {
    if (!this.options.initSession && !this.#initializer.failure) {
      // The common case costs what the pool's own pick costs; the slow path only when nothing is usable.
      try {
        return await this.#pick();
      } catch (error) {
        if (!(error instanceof NoUsableSessionError)) throw error;
      }
    }
    return (await this.acquire({ takeSlot: false })).session;
  }

  /** A session for one request, its pacing slot taken when `takeSlot`. */
  async acquire(request: AcquireRequest): Promise<SessionHttp> {
    const deadline = this.clock.now() + this.options.sessionWaitTimeoutMs;
    for (;;) {
      this.#initializer.throwIfFailed();
      request.signal?.throwIfAborted();
      const http = await this.#candidate(request);
      if (http) {
        const ready = this.#initializer.ensure(http);
        if (ready !== true && !(await ready)) continue;
        this.#initializer.throwIfFailed();
        if (!request.takeSlot) return http;
        if (!http.renewing && http.session.isUsable() && http.pacer.tryStart()) return http;
        continue;
      }
      if (!this.#mayFreeUp(deadline)) {
        throw new NoUsableSessionError(
          'every session is cooling down past sessionWaitTimeoutMs and the pool is full',
        );
      }
      await this.signal.wait(
        this.clock,
        deadline,
        () =>
          new NoUsableSessionError(
            `none became usable within sessionWaitTimeoutMs (${this.options.sessionWaitTimeoutMs} ms)`,
          ),
        request.signal,
      );
    }
  }

  tryEnter(http: SessionHttp): boolean {
    return http.initialized && !http.renewing && http.session.state !== 'retired' && http.pacer.tryStart();
  }

  /** Waits (bounded) until a given session is ready for a request, then takes its pacing slot. */
  async enter(http: SessionHttp, signal?: AbortSignal): Promise<void> {
    const deadline = this.clock.now() + this.options.sessionWaitTimeoutMs;
    const session = http.session;
    for (;;) {
      signal?.throwIfAborted();
      if (session.state === 'retired') throw http.initError ?? new UnknownSessionError(session.id);
      if (http.renewing) {
        await http.renewing.catch(() => undefined);
        continue;
      }
      const ready = this.#initializer.ensure(http);
      if (ready !== true && !(await ready)) {
        throw http.initError ?? new SessionInitError(session.id, 'initialization failed');
      }
      if (http.pacer.tryStart()) return;
      await this.signal.wait(
        this.clock,
        deadline,
        () => new NoUsableSessionError(`session "${session.id}" stayed busy for sessionWaitTimeoutMs`),
        signal,
      );
    }
  }

  scrub(message: string): string {
    return this.options.proxies.length === 0 ? message : scrubSecrets(message, this.options.proxies);
  }

  /** Closes every session's agent (pool teardown) and wakes waiters so they fail fast. */
  async close(): Promise<void> {
    const states = [...this.#states.values()];
    this.#states.clear();
    await Promise.all(states.map((http) => http.destroy()));
    this.signal.notify();
  }

  async #candidate(request: AcquireRequest): Promise<SessionHttp | undefined> {
    let picked: Session | undefined;
    try {
      picked = await this.#pick();
    } catch (error) {
      if (!(error instanceof NoUsableSessionError)) throw error;
    }
    if (picked && this.#ready(picked, request) && !request.exclude?.has(picked.id))
      return this.stateOf(picked);
    let fallback: Session | undefined;
    for (const session of this.#pool.sessions()) {
      if (!this.#ready(session, request)) continue;
      if (!request.exclude?.has(session.id)) return this.stateOf(session);
      fallback ??= session;
    }
    return fallback ? this.stateOf(fallback) : undefined;
  }

  /** Whether waiting can help: a request in flight, a renewal, a pacing delay, or a cool-down ending in time. */
  #mayFreeUp(deadline: number): boolean {
    for (const session of this.#pool.sessions()) {
      const http = this.#states.get(session.id);
      if (http && (http.pacer.inFlight > 0 || http.renewing || http.initializing || !http.pacer.canStart()))
        return true;
      const until = session.blockedUntil;
      if (until !== null && until.getTime() <= deadline) return true;
    }
    return false;
  }

  #ready(session: Session, request: AcquireRequest): boolean {
    if (!session.isUsable()) return false;
    if (!request.takeSlot) return true;
    const http = this.stateOf(session);
    return !http.renewing && http.pacer.canStart();
  }

  #liveState(session: Session): SessionHttp | undefined {
    if (session.state === 'retired') return undefined;
    return this.#states.get(session.id) ?? this.stateOf(session);
  }

  /**
   * The proxy and header profile of a session: the ones recorded in its context when it was restored and they
   * are still configured, otherwise the next ones round-robin, recorded so a restart gives them back.
   */
  #bind(session: Session) {
    const saved = session.actor.getSnapshot().context.bindings;
    const proxy =
      (saved?.proxy != null ? this.#proxies.claim((entry) => entry.redacted === saved.proxy) : undefined) ??
      this.#proxies.assign();
    const profile =
      (saved?.headerProfile != null
        ? this.#profiles.claim((_entry, index) => index === saved.headerProfile)
        : undefined) ?? this.#profiles.assign();
    const bindings = { proxy: proxy?.item.redacted ?? null, headerProfile: profile?.index ?? null };
    const changed =
      bindings.proxy !== (saved?.proxy ?? null) || bindings.headerProfile !== (saved?.headerProfile ?? null);
    if (changed) session.send({ type: 'session.bind', bindings });
    return { proxy, profile };
  }

  #release(sessionId: string): void {
    const http = this.#states.get(sessionId);
    if (http) {
      this.#states.delete(sessionId);
      if (http.proxyIndex !== undefined) this.#proxies.release(http.proxyIndex);
      if (http.profileIndex !== undefined) this.#profiles.release(http.profileIndex);
      void http.close();
    }
    this.signal.notify();
  }

  #helpersFor(http: SessionHttp, renewal: boolean): InitSessionHelpers {
    return {
      fetch: (url, init) => sessionFetch(this, url, init, http),
      dispatcher: http.core,
      renewal,
    };
  }
}
