/**
 * Our pool behind the part of Crawlee's `SessionPool` a crawler uses, and the one shim that puts it into a
 * crawler.
 *
 * The shim, and why it is needed: Crawlee 3 takes no pool. `BasicCrawler` opens its own `SessionPool` in the
 * protected `_init()` (called by every `run()`) and assigns it to its own `sessionPool` property; `run()` ends with
 * `sessionPool.teardown()`, and `HttpCrawler`/`BrowserCrawler` read the pool's private `blockedStatusCodes`.
 * `attachSessionPool` turns that one property into an accessor: reads give our adapter, and the pool Crawlee
 * assigns is closed at once (it was opened inert: persistence off, one slot). Nothing else of Crawlee is
 * patched. `test/integrations/crawlee-shim.test.ts` fails if a Crawlee release stops assigning the property, stops
 * reading it, or reads something else.
 */
import { EventEmitter } from 'node:events';
import type { SessionLease } from '../acquisition/lease.js';
import { InvalidOptionError } from '../errors.js';
import { DEFAULT_BLOCKED_STATUS_CODES } from '../options.js';
import type { Session } from '../session.js';
import type { SessionPool } from '../session-pool.js';
import { type CrawleeExportedPoolState, exportCrawleeState } from '../stores/crawlee-export.js';
import { CrawleeSession } from './session.js';

/** Crawlee's name for the event its browser crawlers listen to. */
const SESSION_RETIRED = 'sessionRetired';

/**
 * Crawlee's `SessionPool` surface over our pool, for one crawler. `getSession()` hands out a new `CrawleeSession`
 * handle per call (per crawler task) on the session our pool picks; teardown, persistence and store resets are the
 * pool owner's business and do nothing here.
 */
export class CrawleeSessionPool extends EventEmitter {
  /** Our pool. */
  readonly pool: SessionPool;
  /** Pools Crawlee opened for itself and we closed (one per `run()`). */
  replacedPools = 0;
  #lastSession: Session | undefined;
  #forwarding = false;
  /** Uses reserved by this crawler's tasks, so that `run()`'s end can give back one a task never marked. */
  readonly #leases = new Set<SessionLease>();
  readonly #onLease = (lease: SessionLease) => {
    // Ended leases go in batches: a long crawl makes one per task.
    if (this.#leases.size >= 64) for (const old of this.#leases) if (!old.held) this.#leases.delete(old);
    this.#leases.add(lease);
  };
  readonly #onRetired = ({ session }: { session: Session }) =>
    this.emit(SESSION_RETIRED, new CrawleeSession(session, this.pool));

  constructor(pool: SessionPool) {
    super();
    this.pool = pool;
  }

  /**
   * A session for one crawler task, picked by our pool (`pool.getSession()`); the task's use is reserved when its
   * request is about to go out (see `CrawleeSession`). With an id: that live session, or `undefined`.
   */
  async getSession(sessionId?: string): Promise<CrawleeSession | undefined> {
    this.#forward();
    const session =
      sessionId === undefined ? await this.pool.getSession() : await this.pool.getSession(sessionId);
    if (!session) return undefined;
    this.#lastSession = session;
    return new CrawleeSession(session, this.pool, this.#onLease);
  }

  /**
   * The codes that retire a session; Crawlee's crawlers read this (a private field of Crawlee's own pool) to tell a
   * blocked response from a wrong content type and to detect blocking.
   */
  get blockedStatusCodes(): number[] {
    const context = this.#lastSession?.actor.getSnapshot().context as
      | { blockedStatusCodes?: number[] }
      | undefined;
    return [...(context?.blockedStatusCodes ?? DEFAULT_BLOCKED_STATUS_CODES)];
  }

  /** Our pool's `maxPoolSize`. */
  get maxPoolSize(): number {
    return this.pool.maxPoolSize;
  }
  /** Our pool's sessions that can be handed out now. */
  get usableSessionsCount(): number {
    return this.pool.usableSessionsCount;
  }
  /** Sessions our pool retired since it opened. */
  get retiredSessionsCount(): number {
    return this.pool.retiredSessionsCount;
  }

  /** The pool's state in Crawlee's shape (`exportCrawleeState`). */
  getState(): CrawleeExportedPoolState {
    return exportCrawleeState(this.pool.getState());
  }

  /** Adds a session to our pool (`id`, `userData`, … as our `SessionOptions`). */
  async addSession(options: Parameters<SessionPool['addSession']>[0] = {}): Promise<void> {
    await this.pool.addSession(options);
  }

  /** Nothing to start: the pool is open. */
  async initialize(): Promise<void> {}

  /** The pool owner persists the pool (its `store`); Crawlee's periodic persistence does nothing here. */
  async persistState(): Promise<void> {}

  /** A second `run()` resets Crawlee's own store; our pool's store is the owner's. */
  async resetStore(): Promise<void> {}

  /**
   * Crawlee's `run()` ends with this; the pool stays open for its owner to tear down. A use a task reserved and
   * Crawlee never marked (its task died with the crawler) ends here, as a failure.
   */
  async teardown(): Promise<void> {
    this.pool.off('sessionRetired', this.#onRetired);
    this.#forwarding = false;
    for (const lease of this.#leases) lease.release('bad');
    this.#leases.clear();
  }

  /** @internal The shim closes the pool Crawlee opened for itself in `_init()`. */
  discardOwnPool(own: unknown): void {
    this.replacedPools += 1;
    const teardown = (own as { teardown?: (options: { persistState: boolean }) => Promise<void> } | null)
      ?.teardown;
    if (typeof teardown === 'function')
      void teardown.call(own, { persistState: false }).catch(() => undefined);
  }

  #forward(): void {
    if (this.#forwarding) return;
    this.#forwarding = true;
    this.pool.on('sessionRetired', this.#onRetired);
  }
}

/** The shim's description of a crawler it cannot work with: Crawlee changed, or the crawler has no session pool. */
export class CrawleeIncompatibleError extends InvalidOptionError {}

/**
 * Makes `crawler` use `adapter` as its session pool, for this and every later `run()`. Call it before `run()`, on
 * a crawler made with `useSessionPool: true` (the default) and the `sessionPoolOptions` of
 * `crawleeSessionPoolOptions()`. See the module comment for what it patches and why.
 */
export function attachSessionPool<T extends object>(crawler: T, adapter: CrawleeSessionPool): T {
  const target = crawler as T & { useSessionPool?: unknown; sessionPool?: unknown };
  if (target.useSessionPool !== true) {
    throw new CrawleeIncompatibleError(
      'useSessionPool',
      'the crawler was made with useSessionPool: false (or is not a Crawlee crawler)',
    );
  }
  const descriptor = Object.getOwnPropertyDescriptor(crawler, 'sessionPool');
  const ours =
    descriptor?.get !== undefined && (descriptor.get as { sessionSupervisor?: boolean }).sessionSupervisor;
  if (!descriptor?.configurable || (!('value' in descriptor) && !ours)) {
    throw new CrawleeIncompatibleError(
      'crawler.sessionPool',
      'this Crawlee version has no configurable own "sessionPool" property on its crawlers; the session-supervisor shim supports Crawlee 3',
    );
  }
  const get = Object.assign(() => adapter, { sessionSupervisor: true });
  Object.defineProperty(crawler, 'sessionPool', {
    configurable: true,
    enumerable: true,
    get,
    set: (own: unknown) => {
      if (own !== adapter && own !== undefined) adapter.discardOwnPool(own);
    },
  });
  return crawler;
}

/** `sessionPoolOptions` for a crawler that gets our pool: Crawlee's own pool (which the shim closes) stays inert. */
export function crawleeSessionPoolOptions(adapter: CrawleeSessionPool): {
  maxPoolSize: number;
  persistenceOptions: { enable: boolean };
  blockedStatusCodes: number[];
} {
  return {
    maxPoolSize: 1,
    persistenceOptions: { enable: false },
    blockedStatusCodes: adapter.blockedStatusCodes,
  };
}
