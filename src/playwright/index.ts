/**
 * session-supervisor/playwright: one session in one Playwright `BrowserContext`. The session's whole cookie jar
 * goes in, its proxy, user agent and headers go on the context, cookies come back into the session (after every
 * response, when a page has loaded or closes, on `flush()` and on `close()`, so cookies set from JavaScript are
 * kept too), and the statuses of the page's main-frame navigations reach the session as outcomes, with the
 * rules of `pool.fetch`.
 *
 * Only types are imported from `playwright-core`: the functions work on the objects a caller passes, whichever
 * Playwright package launched the browser.
 */
import type {
  Browser,
  BrowserContext,
  BrowserContextOptions,
  Page,
  Request,
  Response,
} from 'playwright-core';
import { classifyStatus } from '../http/classify.js';
import { REDIRECT_STATUS_CODES } from '../http/handlers.js';
import type { Session } from '../session.js';
import type { StorageStateCookie } from '../storage-state.js';

/** Playwright's `proxy` context option. */
export interface PlaywrightProxy {
  /** `scheme://host:port`, without credentials. */
  server: string;
  /** Decoded user name, when the proxy URL has one. */
  username?: string;
  /** Decoded password, when the proxy URL has one. Secret: do not log it. */
  password?: string;
  /** Hosts that skip the proxy (Playwright's syntax). */
  bypass?: string;
}

/** The session parts a context is built from (a `Session` has them all). */
export type BindableSession = Pick<
  Session,
  | 'id'
  | 'headerProfile'
  | 'revealProxyUrl'
  | 'exportStorageState'
  | 'importStorageState'
  | 'cookieJar'
  | 'markGood'
  | 'markBad'
  | 'retireOnBlockedStatusCodes'
  | 'state'
>;

/**
 * Turns a proxy URL (credentials included) into Playwright's `{ server, username, password }`. The credentials are
 * decoded, as a browser sends them; `server` carries no credentials.
 * @example
 * ```ts
 * toPlaywrightProxy('http://user:p%40ss@proxy.local:8000');
 * // { server: 'http://proxy.local:8000', username: 'user', password: 'p@ss' }
 * ```
 */
export function toPlaywrightProxy(proxyUrl: string | URL): PlaywrightProxy {
  const url = new URL(String(proxyUrl));
  const proxy: PlaywrightProxy = { server: `${url.protocol}//${url.host}` };
  if (url.username) proxy.username = decodeURIComponent(url.username);
  if (url.password) proxy.password = decodeURIComponent(url.password);
  return proxy;
}

/** How `sessionContextOptions` builds the proxy option. */
export interface SessionContextOptionsInit {
  /**
   * Hosts the proxy must not be used for, Playwright's `proxy.bypass` (e.g. `'<-loopback>'` removes Chromium's
   * implicit loopback bypass, so `127.0.0.1` goes through the proxy too).
   * @defaultValue none
   */
  proxyBypass?: string;
}

/**
 * Context options for `browser.newContext()` that make the context this session: its proxy (the real URL, from
 * `session.revealProxyUrl()`), its header profile's user agent (also `navigator.userAgent`) and headers, and its
 * whole cookie jar as `storageState`. Options you pass win over these.
 * @example
 * ```ts
 * const context = await browser.newContext(sessionContextOptions(session, { locale: 'de-DE' }));
 * ```
 */
export function sessionContextOptions(
  session: BindableSession,
  overrides: BrowserContextOptions = {},
  init: SessionContextOptionsInit = {},
): BrowserContextOptions {
  const options: BrowserContextOptions = {};
  const proxyUrl = session.revealProxyUrl();
  if (proxyUrl) {
    options.proxy = toPlaywrightProxy(proxyUrl);
    if (init.proxyBypass !== undefined) options.proxy.bypass = init.proxyBypass;
  }
  const profile = session.headerProfile;
  if (profile?.userAgent !== undefined) options.userAgent = profile.userAgent;
  const headers = profileHeaders(profile, false);
  if (Object.keys(headers).length > 0) options.extraHTTPHeaders = headers;
  options.storageState = session.exportStorageState() as BrowserContextOptions['storageState'];
  return { ...options, ...overrides };
}

function profileHeaders(
  profile: BindableSession['headerProfile'],
  withUserAgent: boolean,
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(profile?.headers ?? {})) {
    if (name.toLowerCase() !== 'user-agent') headers[name] = value;
  }
  if (withUserAgent && profile?.userAgent !== undefined) headers['user-agent'] = profile.userAgent;
  return headers;
}

/** Options of `bindSessionToContext` (and `newSessionContext`). */
export interface BindSessionOptions {
  /**
   * Report the status of every main-frame navigation to the session: a blocked status code retires it
   * (`retireOnBlockedStatusCodes`), a 5xx (unless ignored) or an additional error code is `markBad`, anything else
   * `markGood`; a navigation that fails on the network is `markBad`. Redirect hops are not counted. Turn it off
   * when something else reports outcomes (a Crawlee crawler does).
   * @defaultValue `true`
   */
  reportOutcomes?: boolean;
  /** 5xx that do not count against the session (Crawlee's `ignoreHttpErrorStatusCodes`). @defaultValue `[]` */
  ignoreHttpErrorStatusCodes?: readonly number[];
  /** Non-5xx that count against it (Crawlee's `additionalHttpErrorStatusCodes`). @defaultValue `[]` */
  additionalHttpErrorStatusCodes?: readonly number[];
  /**
   * Put the session's cookies into the context when binding. Leave it on for an existing context; a context
   * made with `sessionContextOptions` already has them.
   * @defaultValue `true`
   */
  addCookies?: boolean;
  /**
   * Set the header profile on the context with `setExtraHTTPHeaders` (the user agent as a header: an existing
   * context's `navigator.userAgent` cannot change).
   * @defaultValue `true`
   */
  applyHeaders?: boolean;
  /**
   * Also copy the context's cookies into the session every this many ms (cookies a script sets long after the
   * page loaded). 0 disables the timer; cookies are still copied on responses, loads, page closes and `close()`.
   * @defaultValue `0`
   */
  pollIntervalMs?: number;
}

/** What `bindSessionToContext` returns. */
export interface SessionContextBinding {
  /** The bound context. */
  readonly context: BrowserContext;
  /** The session it is bound to. */
  readonly session: BindableSession;
  /** Copies the context's cookies into the session now (deletions included). Resolves once done. */
  flush(): Promise<void>;
  /** Flushes, stops listening, and leaves the context open. Idempotent. */
  unbind(): Promise<void>;
  /** Flushes, stops listening, and closes the context. Idempotent. */
  close(): Promise<void>;
  /** Cookies the browser refused when the jar was put in (e.g. `SameSite=None` without `Secure`). */
  readonly rejectedCookies: readonly { name: string; domain: string; reason: string }[];
}

type CookieKey = string;
const keyOf = (cookie: { name: string; domain: string; path: string }): CookieKey =>
  `${cookie.domain}\u0000${cookie.path}\u0000${cookie.name}`;

/**
 * Binds `session` to an existing context: puts its whole jar in, applies its header profile, copies cookies back
 * into the session as the pages set them, and reports main-frame navigation statuses as outcomes. The proxy of
 * an existing context cannot change: create the context with `sessionContextOptions` (or use `newSessionContext`)
 * for the session's proxy.
 * @example
 * ```ts
 * const binding = await bindSessionToContext(context, session);
 * const page = await context.newPage();
 * await page.goto(url);
 * await binding.close(); // cookies are in the session, the context is closed
 * ```
 */
export async function bindSessionToContext(
  context: BrowserContext,
  session: BindableSession,
  options: BindSessionOptions = {},
): Promise<SessionContextBinding> {
  const classification = {
    retryAfterPolicy: 'retire' as const,
    ignoreHttpErrorStatusCodes: new Set(options.ignoreHttpErrorStatusCodes ?? []),
    additionalHttpErrorStatusCodes: new Set(options.additionalHttpErrorStatusCodes ?? []),
  };
  const rejectedCookies: { name: string; domain: string; reason: string }[] = [];
  // Cookies the context held at the last flush: one missing now was deleted by the page or expired.
  let known = new Map<CookieKey, StorageStateCookie>();

  if (options.addCookies !== false) {
    const cookies = session.exportStorageState().cookies;
    await addCookiesOneByOneOnFailure(context, cookies, rejectedCookies);
  }
  if (options.applyHeaders !== false) {
    const headers = profileHeaders(session.headerProfile, true);
    if (Object.keys(headers).length > 0) await context.setExtraHTTPHeaders(headers);
  }
  for (const cookie of await context.cookies()) known.set(keyOf(cookie), cookie as StorageStateCookie);

  let bound = true;
  let chain: Promise<void> = Promise.resolve();
  let queued = false;
  const sync = async (): Promise<void> => {
    const cookies = (await context.cookies()) as StorageStateCookie[];
    const now = new Map<CookieKey, StorageStateCookie>();
    for (const cookie of cookies) now.set(keyOf(cookie), cookie);
    for (const [key, cookie] of known) {
      if (!now.has(key)) removeFromJar(session, cookie);
    }
    known = now;
    if (cookies.length > 0 && session.state !== 'retired') session.importStorageState({ cookies });
  };
  // One read at a time; requests for a flush while one runs are folded into the next one.
  const flush = (): Promise<void> => {
    if (queued) return chain;
    queued = true;
    chain = chain.then(() => {
      queued = false;
      return sync().catch(() => undefined);
    });
    return chain;
  };

  const isMainFrameNavigation = (request: Request): boolean => {
    if (!request.isNavigationRequest()) return false;
    try {
      const frame = request.frame();
      return frame.parentFrame() === null;
    } catch {
      // A service worker's request has no frame.
      return false;
    }
  };
  const report = (statusCode: number): void => {
    if (options.reportOutcomes === false || session.state === 'retired') return;
    // The session's own blocked codes retire it; the rest is pool.fetch's rule for a response without Retry-After.
    if (session.retireOnBlockedStatusCodes(statusCode)) return;
    const outcome = classifyStatus(statusCode, undefined, [], classification);
    if (outcome.kind === 'good') session.markGood();
    else session.markBad();
  };

  const onResponse = (response: Response): void => {
    void flush();
    const request = response.request();
    if (!isMainFrameNavigation(request)) return;
    const status = response.status();
    if (REDIRECT_STATUS_CODES.has(status) && response.headers().location !== undefined) return;
    report(status);
  };
  const onRequestFailed = (request: Request): void => {
    if (!isMainFrameNavigation(request) || options.reportOutcomes === false) return;
    // An abort is the page's or the caller's doing (a new navigation, a closed page), not the session's.
    if (/ERR_ABORTED|NS_BINDING_ABORTED|cancelled/i.test(request.failure()?.errorText ?? '')) return;
    if (session.state !== 'retired') session.markBad();
  };
  const pageListeners = new Map<Page, { load: () => void; close: () => void }>();
  const watchPage = (page: Page): void => {
    const listeners = { load: () => void flush(), close: () => void flush() };
    pageListeners.set(page, listeners);
    page.on('load', listeners.load);
    page.on('close', listeners.close);
  };
  context.on('response', onResponse);
  context.on('requestfailed', onRequestFailed);
  context.on('page', watchPage);
  for (const page of context.pages()) watchPage(page);
  const timer =
    options.pollIntervalMs && options.pollIntervalMs > 0
      ? setInterval(() => void flush(), options.pollIntervalMs)
      : undefined;
  timer?.unref();

  const unbind = async (): Promise<void> => {
    if (!bound) return chain;
    bound = false;
    if (timer) clearInterval(timer);
    await flush();
    context.off('response', onResponse);
    context.off('requestfailed', onRequestFailed);
    context.off('page', watchPage);
    for (const [page, listeners] of pageListeners) {
      page.off('load', listeners.load);
      page.off('close', listeners.close);
    }
    pageListeners.clear();
  };
  let closing: Promise<void> | undefined;
  return {
    context,
    session,
    rejectedCookies,
    flush: () => (bound ? flush() : chain),
    unbind,
    close() {
      closing ??= unbind().then(() => context.close());
      return closing;
    },
  };
}

/**
 * Adds cookies in one call (one by one if the browser throws on the batch) and records the ones the browser
 * did not keep: Chromium drops some silently, e.g. `SameSite=None` without `Secure`.
 */
async function addCookiesOneByOneOnFailure(
  context: BrowserContext,
  cookies: readonly StorageStateCookie[],
  rejected: { name: string; domain: string; reason: string }[],
): Promise<void> {
  if (cookies.length === 0) return;
  const thrown = new Set<CookieKey>();
  try {
    await context.addCookies([...cookies]);
  } catch {
    for (const cookie of cookies) {
      try {
        await context.addCookies([cookie]);
      } catch (error) {
        thrown.add(keyOf(cookie));
        rejected.push({
          name: cookie.name,
          domain: cookie.domain,
          reason: error instanceof Error ? (error.message.split('\n')[0] ?? error.message) : String(error),
        });
      }
    }
  }
  const kept = new Set((await context.cookies()).map(keyOf));
  for (const cookie of cookies) {
    const key = keyOf(cookie);
    if (!kept.has(key) && !thrown.has(key)) {
      rejected.push({ name: cookie.name, domain: cookie.domain, reason: 'dropped by the browser' });
    }
  }
}

/** Removes one cookie the browser no longer has from the session's jar. */
function removeFromJar(session: BindableSession, cookie: StorageStateCookie): void {
  const domain = cookie.domain.startsWith('.') ? cookie.domain.slice(1) : cookie.domain;
  try {
    // The pool's memory store is synchronous; the callback runs before this returns.
    session.cookieJar.store.removeCookie(domain, cookie.path, cookie.name, () => undefined);
  } catch {
    // A store that cannot remove it keeps it; the next response that sets it wins anyway.
  }
}

/**
 * A new context for `session` (`sessionContextOptions`: proxy, user agent, headers, cookies) bound to it
 * (`bindSessionToContext`). Close it with `binding.close()` so the last cookies reach the session.
 * @example
 * ```ts
 * const binding = await newSessionContext(browser, session);
 * const page = await binding.context.newPage();
 * await page.goto(`${site.url}/`);
 * await binding.close();
 * ```
 */
export async function newSessionContext(
  browser: Browser,
  session: BindableSession,
  options: BindSessionOptions & { contextOptions?: BrowserContextOptions } & SessionContextOptionsInit = {},
): Promise<SessionContextBinding> {
  const { contextOptions, proxyBypass, ...bindOptions } = options;
  const { storageState, ...withoutCookies } = sessionContextOptions(
    session,
    contextOptions,
    proxyBypass === undefined ? {} : { proxyBypass },
  );
  // The jar goes in through the binding, which records cookies the browser refuses instead of failing.
  const context = await browser.newContext(
    contextOptions?.storageState === undefined ? withoutCookies : { ...withoutCookies, storageState },
  );
  try {
    return await bindSessionToContext(context, session, {
      ...bindOptions,
      addCookies: contextOptions?.storageState === undefined,
      // The context already carries the profile (and a real navigator.userAgent).
      applyHeaders: false,
    });
  } catch (error) {
    await context.close().catch(() => undefined);
    throw error;
  }
}
