/**
 * session-supervisor/crawlee: a session-supervisor pool as the session pool of Crawlee 3 crawlers
 * (`BasicCrawler`, `HttpCrawler`/`CheerioCrawler`, `PlaywrightCrawler`, …).
 *
 * - `context.session` is a `CrawleeSession`: Crawlee's `Session` surface over our session (ours is
 *   `context.session.session`), picked by our pool (strategy, `initSession`, cool-downs).
 * - Requests use the session's proxy (the real URL) and header profile, and keep cookies per session; browser
 *   crawlers get one incognito context per page, bound to the session (whole jar in, cookies set by the page —
 *   JavaScript included — back into the session).
 * - Outcomes: one crawler task is one use of the session, marked once. Crawlee marks it (success, failure,
 *   blocked status code, `SessionError`), unless our transport already counted the task's request
 *   (`fetchInCrawler`). The use is reserved before the task's request goes out, so tasks respect
 *   `maxUsageCount` and `maxConcurrencyPerSession`, and a session's first request goes alone (the cookies a site
 *   sets on a first visit reach every later request of that session).
 * - Retries: Crawlee's alone. Our transport never rotates inside a crawler: `fetchInCrawler` pins the task's
 *   session. A response that retires the session becomes Crawlee's `SessionError` (Crawlee tries again on another
 *   session, at most `maxSessionRotations` times, Crawlee's default 10); any other failure is retried at most
 *   `maxRequestRetries` times. One try is one request, so a URL costs at most `maxSessionRotations + 1` requests
 *   when every session is blocked, `maxRequestRetries + 1` otherwise. (Crawlee's own `HttpCrawler` and browser
 *   crawlers report a blocked status as a plain error, bounded by `maxRequestRetries`.)
 * - Teardown: the pool's owner's. `run()` leaves the pool open; several crawlers can share it.
 */
import type {
  BasicCrawler,
  BasicCrawlingContext,
  ProxyConfiguration as ProxyConfigurationType,
} from 'crawlee';
import type { Page as PlaywrightPage } from 'playwright-core';
import { InvalidOptionError, SessionBlockedError, SessionRotationsExhaustedError } from '../errors.js';
import { mergeCookieHeader } from '../http/headers.js';
import type { SessionFetchInit, SessionResponse } from '../http/types.js';
import { loadPeer } from '../peer.js';
import { bindSessionToContext, type SessionContextBinding } from '../playwright/index.js';
import type { SessionPool } from '../session-pool.js';
import { attachSessionPool, CrawleeSessionPool, crawleeSessionPoolOptions } from './pool.js';
import { CrawleeSession } from './session.js';

const crawlee = loadPeer<typeof import('crawlee')>('crawlee', 'session-supervisor/crawlee');

export type {
  CrawleeExportedPoolState,
  CrawleeExportedSession,
  ExportCrawleeStateOptions,
} from '../stores/crawlee-export.js';
export { exportCrawleeState } from '../stores/crawlee-export.js';
export {
  attachSessionPool,
  CrawleeIncompatibleError,
  CrawleeSessionPool,
  crawleeSessionPoolOptions,
} from './pool.js';
export { CrawleeSession };

// biome-ignore lint/suspicious/noExplicitAny: the crawler base classes, whatever their context types
type CrawlerClass = abstract new (...args: any[]) => BasicCrawler<any>;
// biome-ignore lint/suspicious/noExplicitAny: any crawler class, whatever its options and context types
type AnyCrawlerConstructor = new (options: any, config?: any) => BasicCrawler<any>;

/** What `createCrawler` adds to a crawler's options, and may not be given by the caller. */
const MANAGED_OPTIONS = ['sessionPoolOptions', 'useSessionPool'] as const;

/**
 * A Crawlee `ProxyConfiguration` that gives each session its own proxy from our pool (`session.revealProxyUrl()`),
 * or none for a session without one.
 * @example
 * ```ts
 * new CheerioCrawler({ proxyConfiguration: sessionProxyConfiguration(pool), ... });
 * ```
 */
export function sessionProxyConfiguration(pool: SessionPool): ProxyConfigurationType {
  return new crawlee.ProxyConfiguration({
    newUrlFunction: async (sessionId) => {
      if (sessionId === undefined || sessionId === null) return null;
      const session = await pool.getSession(String(sessionId));
      return session?.revealProxyUrl() ?? null;
    },
  });
}

function hasHeader(headers: Record<string, unknown> | undefined, name: string): boolean {
  if (!headers) return false;
  const lower = name.toLowerCase();
  return Object.keys(headers).some((key) => key.toLowerCase() === lower && headers[key] !== undefined);
}

/**
 * Reserves the task's use of its session before anything is sent (the first pre-navigation hook, and the request
 * handler for crawlers without navigation). A session that retired meanwhile is Crawlee's `SessionError`: Crawlee
 * rotates to another session instead of spending a retry.
 */
async function reserveTask(context: { session?: unknown }): Promise<void> {
  const handle = context.session;
  if (!(handle instanceof CrawleeSession)) return;
  try {
    await handle.reserve();
  } catch (error) {
    if (handle.session.state !== 'retired') throw error;
    throw new crawlee.SessionError(error instanceof Error ? error.message : String(error));
  }
}

/** An `HttpCrawler` pre-navigation hook: the session's header profile, under the request's own headers. */
function applyHeaderProfile(
  context: { session?: unknown; request: { headers?: Record<string, string> } },
  gotOptions: { headers?: Record<string, unknown> },
): void {
  const handle = context.session;
  if (!(handle instanceof CrawleeSession)) return;
  const profile = handle.session.headerProfile;
  if (!profile) return;
  const wanted: Record<string, string> = { ...profile.headers };
  if (profile.userAgent !== undefined) wanted['user-agent'] = profile.userAgent;
  gotOptions.headers ??= {};
  for (const [name, value] of Object.entries(wanted)) {
    if (!hasHeader(context.request.headers, name) && !hasHeader(gotOptions.headers, name)) {
      gotOptions.headers[name] = value;
    }
  }
}

export interface SessionCrawlerOptions {
  /**
   * Give `HttpCrawler`s and browser crawlers the sessions' proxies (`sessionProxyConfiguration`). Ignored when the
   * options carry their own `proxyConfiguration`.
   * @defaultValue `true`
   */
  useSessionProxies?: boolean;
}

/**
 * A Crawlee crawler of class `Crawler` whose sessions come from `pool` (see the module comment for the rules).
 * `options` are the crawler's own; `sessionPoolOptions`/`useSessionPool` belong to our pool and may not be given.
 * Browser crawlers get `launchContext.useIncognitoPages: true`, so that each page has its session's own context,
 * proxy and cookies.
 * @example
 * ```ts
 * const pool = await SessionPool.open({ maxPoolSize: 10 });
 * const crawler = createCrawler(CheerioCrawler, pool, {
 *   async requestHandler({ $, session }) { console.log($('title').text(), session?.id); },
 * });
 * await crawler.run([url]);
 * await pool.teardown(); // the pool's owner decides when
 * ```
 */
export function createCrawler<C extends AnyCrawlerConstructor>(
  Crawler: C,
  pool: SessionPool,
  options: NonNullable<ConstructorParameters<C>[0]> = {} as NonNullable<ConstructorParameters<C>[0]>,
  config?: ConstructorParameters<C>[1],
  sessionOptions: SessionCrawlerOptions = {},
): InstanceType<C> {
  const given = options as Record<string, unknown>;
  for (const name of MANAGED_OPTIONS) {
    if (given[name] !== undefined) {
      throw new InvalidOptionError(
        name,
        'configure the session-supervisor pool instead; createCrawler sets it',
      );
    }
  }
  const adapter = new CrawleeSessionPool(pool);
  const isBrowser = extendsClass(Crawler, crawlee.BrowserCrawler as unknown as CrawlerClass);
  const isHttp = extendsClass(Crawler, crawlee.HttpCrawler as unknown as CrawlerClass);
  const crawlerOptions: Record<string, unknown> = {
    ...given,
    useSessionPool: true,
    sessionPoolOptions: crawleeSessionPoolOptions(adapter),
  };
  if (
    (isHttp || isBrowser) &&
    given.proxyConfiguration === undefined &&
    sessionOptions.useSessionProxies !== false
  ) {
    crawlerOptions.proxyConfiguration = sessionProxyConfiguration(pool);
  }
  const hooks = (given.preNavigationHooks as unknown[] | undefined) ?? [];
  if (isHttp) crawlerOptions.preNavigationHooks = [reserveTask, applyHeaderProfile, ...hooks];
  if (isBrowser) {
    const launchContext = given.launchContext as { useIncognitoPages?: unknown } | undefined;
    if (launchContext?.useIncognitoPages === false) {
      throw new InvalidOptionError(
        'launchContext.useIncognitoPages',
        'must stay true: pages of one browser context would share one cookie jar across sessions',
      );
    }
    const bindings = new WeakMap<object, SessionContextBinding>();
    crawlerOptions.launchContext = {
      ...(given.launchContext as Record<string, unknown> | undefined),
      useIncognitoPages: true,
    };
    crawlerOptions.preNavigationHooks = [
      reserveTask,
      async (context: { page: object; session?: unknown }) => {
        const handle = context.session;
        if (!(handle instanceof CrawleeSession)) return;
        const page = context.page as unknown as PlaywrightPage;
        const binding = await bindSessionToContext(page.context(), handle.session, { reportOutcomes: false });
        bindings.set(context.page, binding);
        await overrideUserAgent(page, handle.session.headerProfile?.userAgent);
      },
      ...hooks,
    ];
    const handler = given.requestHandler;
    if (typeof handler === 'function') {
      crawlerOptions.requestHandler = async (context: { page: object }) => {
        try {
          return await (handler as (context: unknown) => unknown)(context);
        } finally {
          // What the page set while the handler ran (JavaScript cookies included) goes back into the session.
          await bindings.get(context.page)?.unbind();
        }
      };
    }
  }
  const handler = crawlerOptions.requestHandler;
  if (typeof handler === 'function') {
    // Every crawler's `context.sendRequest` (got-scraping) sends the session's header profile; a BasicCrawler's
    // also gets the session's proxy, which only HttpCrawler and browser crawlers look up themselves.
    crawlerOptions.requestHandler = async (context: SendRequestContext) => {
      await reserveTask(context);
      withSessionRequests(context, !isHttp && !isBrowser);
      return (handler as (context: unknown) => unknown)(context);
    };
  }
  const crawler = new (Crawler as unknown as new (options: unknown, config?: unknown) => InstanceType<C>)(
    crawlerOptions,
    config,
  );
  return attachSessionPool(crawler, adapter);
}

/**
 * The page's own user agent (`navigator.userAgent` as well as the header) for Chromium, through the DevTools
 * protocol: Crawlee creates the page's context, so the `userAgent` context option is out of reach. Other browsers
 * keep the header set by the binding.
 */
async function overrideUserAgent(page: PlaywrightPage, userAgent: string | undefined): Promise<void> {
  if (userAgent === undefined) return;
  const context = page.context();
  if (context.browser()?.browserType().name() !== 'chromium') return;
  // An override lives as long as the DevTools session that set it: this one ends with the page.
  const cdp = await context.newCDPSession(page);
  await cdp.send('Emulation.setUserAgentOverride', { userAgent });
}

interface SendRequestContext {
  session?: unknown;
  proxyInfo?: { url?: string } & Record<string, unknown>;
  request: { url: string; headers?: Record<string, string> };
  sendRequest?: (
    overrides?: { url?: unknown; headers?: Record<string, string>; hooks?: unknown } & Record<
      string,
      unknown
    >,
  ) => unknown;
}

function withSessionRequests(context: SendRequestContext, setProxy: boolean): void {
  const handle = context.session;
  if (!(handle instanceof CrawleeSession)) return;
  if (setProxy && context.proxyInfo === undefined) {
    const proxyUrl = handle.session.revealProxyUrl();
    if (proxyUrl) {
      const url = new URL(proxyUrl);
      context.proxyInfo = {
        sessionId: handle.id,
        url: proxyUrl,
        username: decodeURIComponent(url.username),
        password: decodeURIComponent(url.password),
        hostname: url.hostname,
        port: url.port,
      };
    }
  }
  const send = context.sendRequest;
  if (typeof send !== 'function') return;
  const session = handle.session;
  const profile = session.headerProfile;
  context.sendRequest = (overrides = {}) => {
    const own: Record<string, string> = { ...context.request.headers, ...overrides.headers };
    const headers: Record<string, string> = {};
    const wanted: Record<string, string> = { ...profile?.headers };
    if (profile?.userAgent !== undefined) wanted['user-agent'] = profile.userAgent;
    for (const [name, value] of Object.entries(wanted)) if (!hasHeader(own, name)) headers[name] = value;
    const cookieName = Object.keys(own).find((name) => name.toLowerCase() === 'cookie');
    const ownCookie = cookieName === undefined ? '' : String(own[cookieName]);
    if (cookieName !== undefined) delete own[cookieName];
    const url = String(overrides.url ?? context.request.url);
    const cookie = mergeCookieHeader(ownCookie, session.getCookieString(url));
    if (cookie) headers.cookie = cookie;
    const hooks = (overrides.hooks ?? {}) as GotHooks;
    return send({
      ...overrides,
      headers: { ...headers, ...own },
      hooks: {
        ...hooks,
        // Crawlee's HTTP client drops the cookie jar (HttpCrawler sets the Cookie header itself): keep every hop's
        // cookies here, so a cookie check's 302 works as it does in a browser.
        beforeRedirect: [
          (options: { url?: unknown; headers: Record<string, unknown> }, response: GotResponseLike) => {
            session.setCookiesFromResponse({ headers: response.headers, url: String(response.url) });
            const next = mergeCookieHeader(ownCookie, session.getCookieString(String(options.url)));
            if (next) options.headers.cookie = next;
            else delete options.headers.cookie;
          },
          ...(hooks.beforeRedirect ?? []),
        ],
        afterResponse: [
          (response: GotResponseLike) => {
            session.setCookiesFromResponse({ headers: response.headers, url: String(response.url) });
            return response;
          },
          ...(hooks.afterResponse ?? []),
        ],
      },
    });
  };
}

interface GotResponseLike {
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

interface GotHooks {
  beforeRedirect?: unknown[];
  afterResponse?: unknown[];
  [hook: string]: unknown;
}

function extendsClass(candidate: unknown, base: CrawlerClass): boolean {
  return candidate === base || (typeof candidate === 'function' && candidate.prototype instanceof base);
}

/**
 * Fetches `url` with `pool.fetch` on the task's own session (no rotation: Crawlee does the retries), counting the
 * request as the task's use. A response that retires the session throws Crawlee's `SessionError`, so Crawlee
 * rotates to another session (at most `maxSessionRotations` times); a cool-down (`SessionBlockedError`), a 5xx or a
 * network failure throws the pool's error, which Crawlee retries (at most `maxRequestRetries` times).
 * @example
 * ```ts
 * const crawler = createCrawler(BasicCrawler, pool, {
 *   async requestHandler(context) {
 *     const response = await fetchInCrawler(context, context.request.url);
 *     await context.pushData({ url: response.url, length: response.body.length });
 *   },
 * });
 * ```
 */
export async function fetchInCrawler(
  context: Pick<BasicCrawlingContext, 'session'>,
  url: string | URL,
  init: Omit<SessionFetchInit, 'session' | 'maxSessionRotations'> = {},
): Promise<SessionResponse> {
  const handle = context.session as unknown;
  if (!(handle instanceof CrawleeSession)) {
    throw new InvalidOptionError(
      'context.session',
      'not a session-supervisor session: make the crawler with createCrawler (or attachSessionPool)',
    );
  }
  try {
    // Synchronously before the fetch reserves: the task's use becomes the transport's, no other task between.
    handle.handOverReservation();
    const response = await handle.pool.fetch(url, { ...init, session: handle.session });
    handle.countedByTransport();
    return response;
  } catch (error) {
    if (error instanceof SessionBlockedError) {
      handle.countedByTransport();
      // A retired session is Crawlee's session error: it rotates (bounded by its maxSessionRotations). A session
      // cooling down must not be retired by Crawlee's rotation, so that is a plain failure to retry.
      if (handle.session.state === 'retired') throw new crawlee.SessionError(error.message);
    }
    if (error instanceof SessionRotationsExhaustedError) handle.countedByTransport();
    throw error;
  }
}
