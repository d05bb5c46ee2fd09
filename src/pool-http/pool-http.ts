/**
 * The HTTP side of one pool: each session's transport (proxy, header profile, agent), the binding of proxies and
 * profiles to sessions, and the entry points the pool delegates to (`fetch`, `dispatcher`, `session.dispatcher`).
 * Sessions come from the pool's acquisition, with a use reserved; nothing here picks or counts.
 */
import type { Dispatcher } from 'undici';
import type { AcquireOptions, SessionAcquirer } from '../acquisition/acquirer.js';
import type { SessionLease } from '../acquisition/lease.js';
import type { Clock } from '../clock.js';
import { UnknownSessionError } from '../errors.js';
import type { ResolvedHttpOptions } from '../http/options.js';
import { ProfileAssigner } from '../http/profiles.js';
import { type ProxyConfig, scrubSecrets } from '../http/proxy.js';
import { SessionHttp } from '../http/session-http.js';
import type { HeaderProfile, InitSessionHelpers, SessionFetchInit, SessionResponse } from '../http/types.js';
import type { PoolTally } from '../pool-stats.js';
import type { Session, SessionHttpAccess } from '../session.js';
import { createPoolDispatcher, type PoolDispatcherHost } from './dispatcher.js';
import { sessionFetch } from './fetch.js';
import { createLeaseInterceptor } from './interceptors.js';

export interface PoolHttpInit {
  options: ResolvedHttpOptions;
  blockedStatusCodes: readonly number[];
  clock: Clock;
  tally: PoolTally;
  acquirer: () => SessionAcquirer;
}

export class PoolHttp implements PoolDispatcherHost, SessionHttpAccess {
  readonly clock: Clock;
  readonly options: ResolvedHttpOptions;
  readonly blockedStatusCodes: readonly number[];
  readonly tally: PoolTally;
  readonly #acquirer: () => SessionAcquirer;
  readonly #transports = new Map<string, SessionHttp>();
  readonly #proxies: ProfileAssigner<ProxyConfig>;
  readonly #profiles: ProfileAssigner<Readonly<HeaderProfile>>;
  #dispatcher: Dispatcher | undefined;

  constructor(init: PoolHttpInit) {
    this.options = init.options;
    this.blockedStatusCodes = init.blockedStatusCodes;
    this.clock = init.clock;
    this.tally = init.tally;
    this.#acquirer = init.acquirer;
    this.#proxies = new ProfileAssigner(init.options.proxies);
    this.#profiles = new ProfileAssigner(init.options.headerProfiles);
  }

  /** Whether new sessions get a proxy or profile (assigned in creation order, so at creation). */
  get assignsBindings(): boolean {
    return this.#proxies.size > 0 || this.#profiles.size > 0;
  }

  acquire(options: AcquireOptions): Promise<SessionLease> {
    return this.#acquirer().acquire(options);
  }

  /** The transport of a live session, created (proxy and profile bound) on first sight. */
  transportOf(session: Session): SessionHttp {
    let http = this.#transports.get(session.id);
    if (!http) {
      const { proxy, profile } = this.#bind(session);
      http = new SessionHttp({
        session,
        proxy,
        profile,
        agentOptions: this.options.agentOptions,
        maxRedirections: this.options.maxRedirections,
        outer: createLeaseInterceptor(this, session),
      });
      this.#transports.set(session.id, http);
    }
    return http;
  }

  /** `pool.dispatcher`: reserves a use of a session per request. */
  get dispatcher(): Dispatcher {
    this.#dispatcher ??= createPoolDispatcher(this);
    return this.#dispatcher;
  }

  proxyUrlOf(session: Session): string | null {
    return this.#liveTransport(session)?.proxy?.redacted ?? null;
  }

  revealProxyUrlOf(session: Session): string | null {
    return this.#liveTransport(session)?.proxy?.url.href ?? null;
  }

  headerProfileOf(session: Session): Readonly<HeaderProfile> | null {
    return this.#liveTransport(session)?.profile ?? null;
  }

  dispatcherOf(session: Session): Dispatcher {
    const http = this.#liveTransport(session);
    if (!http) throw new UnknownSessionError(session.id);
    return http.public;
  }

  renew(session: Session): Promise<void> {
    if (session.state === 'retired') return Promise.reject(new UnknownSessionError(session.id));
    return this.#acquirer().renew(session);
  }

  fetch(url: string | URL, init?: SessionFetchInit): Promise<SessionResponse> {
    return sessionFetch(this, url, init);
  }

  /** `initSession`'s helpers: requests through the session that reserve no use and apply no outcome. */
  helpersFor(session: Session, renewal: boolean): InitSessionHelpers {
    return {
      fetch: (url, init) => sessionFetch(this, url, init, session),
      dispatcher: this.transportOf(session).core,
      renewal,
    };
  }

  scrub(message: string): string {
    return this.options.proxies.length === 0 ? message : scrubSecrets(message, this.options.proxies);
  }

  /** A session retired: its agent closes, its proxy and profile go back to the pool. */
  release(sessionId: string): void {
    const http = this.#transports.get(sessionId);
    if (!http) return;
    this.#transports.delete(sessionId);
    if (http.proxyIndex !== undefined) this.#proxies.release(http.proxyIndex);
    if (http.profileIndex !== undefined) this.#profiles.release(http.profileIndex);
    void http.close();
  }

  /** Closes every session's agent (pool teardown). */
  async close(): Promise<void> {
    const transports = [...this.#transports.values()];
    this.#transports.clear();
    await Promise.all(transports.map((http) => http.destroy()));
  }

  #liveTransport(session: Session): SessionHttp | undefined {
    if (session.state === 'retired') return undefined;
    return this.transportOf(session);
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
}
