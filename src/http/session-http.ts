/**
 * The HTTP side of one session, kept outside its machine context (so proxy credentials never reach snapshots,
 * persistence or inspection): its proxy and header profile, its own undici agent, its pacing, and where it
 * stands in initialization and renewal. Dispatchers are built on first use, so idle sessions cost no agent.
 *
 *   public dispatcher (session.dispatcher):  gate → outcome reporter → redirect → cookies → Agent/ProxyAgent
 *   reporting dispatcher (pool.dispatcher):          outcome reporter → redirect → cookies → Agent/ProxyAgent
 *   core dispatcher (pool.fetch, initSession):                          redirect → cookies → Agent/ProxyAgent
 */
import { type Agent, type Dispatcher, interceptors, type ProxyAgent } from 'undici';
import type { Session } from '../session.js';
import { createCookieInterceptor } from './cookie-interceptor.js';
import { type PreparedHeaders, prepareHeaders } from './headers.js';
import type { Pacer } from './pacer.js';
import { createSessionAgent, type ProxyConfig } from './proxy.js';
import type { HeaderProfile } from './types.js';

/** Builds the interceptors that need the pool (pacing gate, outcome reporter). */
export interface SessionInterceptorFactory {
  gate(http: SessionHttp): Dispatcher.DispatcherComposeInterceptor;
  reporter(http: SessionHttp): Dispatcher.DispatcherComposeInterceptor;
}

export interface SessionHttpInit {
  session: Session;
  proxy: { index: number; item: ProxyConfig } | undefined;
  profile: { index: number; item: Readonly<HeaderProfile> } | undefined;
  pacer: Pacer;
  agentOptions: Agent.Options;
  maxRedirections: number;
  interceptors: SessionInterceptorFactory;
}

export class SessionHttp {
  readonly session: Session;
  /** Index into `proxyUrls`, released when the session retires. */
  readonly proxyIndex: number | undefined;
  readonly proxy: ProxyConfig | undefined;
  /** Index into `headerProfiles`, released when the session retires. */
  readonly profileIndex: number | undefined;
  readonly profile: Readonly<HeaderProfile> | undefined;
  readonly pacer: Pacer;
  /** `initSession` succeeded (or none is configured, or the session was restored already used). */
  initialized = false;
  initializing: Promise<boolean> | undefined;
  renewing: Promise<void> | undefined;
  /** Why the last `initSession` of this session failed. */
  initError: Error | undefined;
  /** `sessionChecker` failures so far. */
  checkFailures = 0;
  readonly #prepared: PreparedHeaders | undefined;
  readonly #init: SessionHttpInit;
  #agent: Agent | ProxyAgent | undefined;
  #core: Dispatcher | undefined;
  #reporting: Dispatcher | undefined;
  #public: Dispatcher | undefined;
  #closed = false;

  constructor(init: SessionHttpInit) {
    this.#init = init;
    this.session = init.session;
    this.proxyIndex = init.proxy?.index;
    this.proxy = init.proxy?.item;
    this.profileIndex = init.profile?.index;
    this.profile = init.profile?.item;
    this.pacer = init.pacer;
    this.#prepared = this.profile ? prepareHeaders(this.profile.userAgent, this.profile.headers) : undefined;
  }

  /** Redirects and cookies over the session's own agent; no pacing, no outcome. */
  get core(): Dispatcher {
    if (!this.#core) {
      this.#agent = createSessionAgent(this.proxy, this.#init.agentOptions);
      this.#core = this.#agent.compose(
        createCookieInterceptor(this.session, this.#prepared),
        interceptors.redirect({ maxRedirections: this.#init.maxRedirections }),
      );
    }
    return this.#core;
  }

  /** `core` plus outcome reporting, for `pool.dispatcher` (which takes the pacing slot itself). */
  get reporting(): Dispatcher {
    this.#reporting ??= this.core.compose(this.#init.interceptors.reporter(this));
    return this.#reporting;
  }

  /** What `session.dispatcher` returns: pacing, renewal wait and outcome reporting included. */
  get public(): Dispatcher {
    this.#public ??= this.reporting.compose(this.#init.interceptors.gate(this));
    return this.#public;
  }

  /** Closes the agent (in-flight requests finish first). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const agent = this.#agent;
    if (agent) await agent.close().catch(() => undefined);
  }

  /** Drops every connection at once (pool teardown). */
  async destroy(): Promise<void> {
    this.#closed = true;
    const agent = this.#agent;
    if (agent) await agent.destroy().catch(() => undefined);
  }
}
