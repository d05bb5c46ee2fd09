/**
 * The transport of one session, kept outside its machine context (so proxy credentials never reach snapshots,
 * persistence or inspection): its proxy and header profile and its own undici agent. Dispatchers are built on
 * first use, so idle sessions cost no agent.
 *
 *   public dispatcher (session.dispatcher):  outer (given by the pool: reserve a use, report the outcome)
 *                                              → redirect → cookies → Agent/ProxyAgent
 *   core dispatcher (pool.fetch, pool.dispatcher, initSession):  redirect → cookies → Agent/ProxyAgent
 */
import type { Agent, Dispatcher, ProxyAgent } from 'undici';
import type { Session } from '../session.js';
import { createCookieInterceptor } from './cookie-interceptor.js';
import { type PreparedHeaders, prepareHeaders } from './headers.js';
import { createSessionAgent, type ProxyConfig } from './proxy.js';
import { createRedirectInterceptor } from './redirect-interceptor.js';
import type { HeaderProfile } from './types.js';

export interface SessionHttpInit {
  session: Session;
  proxy: { index: number; item: ProxyConfig } | undefined;
  profile: { index: number; item: Readonly<HeaderProfile> } | undefined;
  agentOptions: Agent.Options;
  maxRedirections: number;
  /** The outermost interceptor of `public`, built when first needed. */
  outer: (http: SessionHttp) => Dispatcher.DispatcherComposeInterceptor;
}

export class SessionHttp {
  readonly session: Session;
  /** Index into `proxyUrls`, released when the session retires. */
  readonly proxyIndex: number | undefined;
  readonly proxy: ProxyConfig | undefined;
  /** Index into `headerProfiles`, released when the session retires. */
  readonly profileIndex: number | undefined;
  readonly profile: Readonly<HeaderProfile> | undefined;
  readonly #prepared: PreparedHeaders | undefined;
  readonly #init: SessionHttpInit;
  #agent: Agent | ProxyAgent | undefined;
  #core: Dispatcher | undefined;
  #public: Dispatcher | undefined;
  #closed = false;

  constructor(init: SessionHttpInit) {
    this.#init = init;
    this.session = init.session;
    this.proxyIndex = init.proxy?.index;
    this.proxy = init.proxy?.item;
    this.profileIndex = init.profile?.index;
    this.profile = init.profile?.item;
    this.#prepared = this.profile ? prepareHeaders(this.profile.userAgent, this.profile.headers) : undefined;
  }

  /** Redirects and cookies over the session's own agent; no reservation, no outcome. */
  get core(): Dispatcher {
    if (!this.#core) {
      this.#agent = createSessionAgent(this.proxy, this.#init.agentOptions);
      this.#core = this.#agent.compose(
        createCookieInterceptor(this.session, this.#prepared),
        createRedirectInterceptor({ maxRedirections: this.#init.maxRedirections }),
      );
    }
    return this.#core;
  }

  /** What `session.dispatcher` returns: `core` with the pool's outer interceptor. */
  get public(): Dispatcher {
    this.#public ??= this.core.compose(this.#init.outer(this));
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
