/**
 * One RFC 6265 cookie jar per session (tough-cookie), with caps: tough-cookie keeps any number of cookies, and
 * its deserializer recurses once per cookie, so a jar of a few thousand cookies cannot be restored. Like a
 * browser, the jar evicts its oldest cookie when a domain or the whole jar is full.
 */
import { Cookie, CookieJar, type CookieJar as CookieJarType, MemoryCookieStore } from 'tough-cookie';

export type { CookieJarType as CookieJar };

/** Longest `Set-Cookie` value accepted (browsers accept about 4 KiB per cookie). */
export const MAX_SET_COOKIE_LENGTH = 8192;

export interface CookieLimits {
  maxCookiesPerSession: number;
  maxCookiesPerDomain: number;
}

/** A cookie as Playwright and Puppeteer take and return it. */
export interface BrowserCookie {
  name: string;
  value: string;
  domain?: string;
  path?: string;
  /** Seconds since the epoch; -1 (or absent) for a session cookie. */
  expires?: number;
  httpOnly?: boolean;
  secure?: boolean;
  sameSite?: 'Strict' | 'Lax' | 'None';
}

type ErrorCallback = (error: Error | null) => void;

/** A synchronous memory store that evicts the oldest cookie of a full domain or a full jar. */
export class CappedMemoryCookieStore extends MemoryCookieStore {
  readonly #limits: CookieLimits;
  #count = 0;

  constructor(limits: CookieLimits) {
    super();
    this.#limits = limits;
  }

  override putCookie(cookie: Cookie): Promise<void>;
  override putCookie(cookie: Cookie, callback: ErrorCallback): void;
  override putCookie(cookie: Cookie, callback?: ErrorCallback): Promise<void> | undefined {
    const { domain, path, key } = cookie;
    if (domain != null && path != null && key != null && !this.idx[domain]?.[path]?.[key]) {
      this.#makeRoom(domain);
      this.#count += 1;
    }
    if (callback) {
      super.putCookie(cookie, callback);
      return undefined;
    }
    return super.putCookie(cookie);
  }

  override removeCookie(domain: string, path: string, key: string): Promise<void>;
  override removeCookie(domain: string, path: string, key: string, callback: ErrorCallback): void;
  override removeCookie(
    domain: string,
    path: string,
    key: string,
    callback?: ErrorCallback,
  ): Promise<void> | undefined {
    if (this.idx[domain]?.[path]?.[key]) this.#count -= 1;
    if (callback) {
      super.removeCookie(domain, path, key, callback);
      return undefined;
    }
    return super.removeCookie(domain, path, key);
  }

  override removeCookies(domain: string, path: string): Promise<void>;
  override removeCookies(domain: string, path: string, callback: ErrorCallback): void;
  override removeCookies(domain: string, path: string, callback?: ErrorCallback): Promise<void> | undefined {
    if (callback) {
      super.removeCookies(domain, path, callback);
      this.#count = this.#cookies().length;
      return undefined;
    }
    const removal = super.removeCookies(domain, path);
    this.#count = this.#cookies().length;
    return removal;
  }

  override removeAllCookies(): Promise<void>;
  override removeAllCookies(callback: ErrorCallback): void;
  override removeAllCookies(callback?: ErrorCallback): Promise<void> | undefined {
    this.#count = 0;
    if (callback) {
      super.removeAllCookies(callback);
      return undefined;
    }
    return super.removeAllCookies();
  }

  /** Number of cookies held, expired ones included until the jar next reads them. */
  get size(): number {
    return this.#count;
  }

  #makeRoom(domain: string): void {
    const inDomain = this.#cookies(domain);
    if (inDomain.length >= this.#limits.maxCookiesPerDomain) this.#evictOldest(inDomain);
    if (this.#count >= this.#limits.maxCookiesPerSession) this.#evictOldest(this.#cookies());
  }

  #evictOldest(cookies: Cookie[]): void {
    let oldest: Cookie | undefined;
    for (const cookie of cookies) {
      if (!oldest || creationOrder(cookie) < creationOrder(oldest)) oldest = cookie;
    }
    if (oldest?.domain && oldest.path) this.removeCookie(oldest.domain, oldest.path, oldest.key, noop);
  }

  #cookies(domain?: string): Cookie[] {
    const found: Cookie[] = [];
    const domains = domain === undefined ? Object.values(this.idx) : [this.idx[domain] ?? {}];
    for (const paths of domains) {
      for (const byKey of Object.values(paths ?? {})) found.push(...Object.values(byKey ?? {}));
    }
    return found;
  }
}

function noop(): void {}

function creationOrder(cookie: Cookie): number {
  return (
    (cookie.creation instanceof Date ? cookie.creation.getTime() : 0) * 1e6 + (cookie.creationIndex ?? 0)
  );
}

/** A new, empty jar with the given caps; public-suffix cookies are rejected. */
export function createCookieJar(limits: CookieLimits): CookieJar {
  return new CookieJar(new CappedMemoryCookieStore(limits), { rejectPublicSuffixes: true });
}

/** Parses a jar from `CookieJar.serializeSync()` output into a capped store. */
export function restoreCookieJar(serialized: unknown, limits: CookieLimits): CookieJar {
  const jar = createCookieJar(limits);
  const data = serialized as { cookies?: unknown[] } | null;
  for (const raw of data?.cookies ?? []) {
    const cookie = Cookie.fromJSON(raw);
    if (cookie) jar.store.putCookie(cookie, noop);
  }
  return jar;
}

/** Normalizes a `set-cookie` header value (string, array, or absent) to a list. */
export function setCookieValues(header: unknown): string[] {
  if (header === undefined || header === null) return [];
  if (Array.isArray(header)) return header.map(String);
  return [String(header)];
}

/** Converts a tough-cookie cookie into the Playwright/Puppeteer shape. */
export function toBrowserCookie(cookie: Cookie): BrowserCookie {
  const expires = cookie.expiryTime();
  const browserCookie: BrowserCookie = {
    name: cookie.key,
    value: cookie.value,
    domain: cookie.hostOnly ? (cookie.domain ?? undefined) : `.${cookie.domain}`,
    path: cookie.path ?? '/',
    expires: expires === undefined || !Number.isFinite(expires) ? -1 : Math.floor(expires / 1000),
    httpOnly: cookie.httpOnly,
    secure: cookie.secure,
  };
  const sameSite = sameSiteName(cookie.sameSite);
  if (sameSite) browserCookie.sameSite = sameSite;
  return browserCookie;
}

function sameSiteName(value: string | undefined): BrowserCookie['sameSite'] {
  switch (value?.toLowerCase()) {
    case 'strict':
      return 'Strict';
    case 'lax':
      return 'Lax';
    case 'none':
      return 'None';
    default:
      return undefined;
  }
}

/**
 * Converts a Playwright/Puppeteer cookie to a tough-cookie one plus the URL to set it for. A leading dot marks a
 * domain cookie (`.example.com`); a bare domain is host-only and is set for that host, as a browser would.
 */
export function fromBrowserCookie(browserCookie: BrowserCookie, url: URL): { cookie: Cookie; url: string } {
  const domain = browserCookie.domain ?? url.hostname;
  const hostOnly = !domain.startsWith('.');
  const target = new URL(url);
  if (hostOnly) target.hostname = domain;
  const cookie = new Cookie({
    key: browserCookie.name,
    value: browserCookie.value,
    domain: hostOnly ? null : domain.slice(1),
    path: browserCookie.path ?? '/',
    httpOnly: browserCookie.httpOnly ?? false,
    secure: browserCookie.secure ?? false,
    expires:
      browserCookie.expires === undefined || browserCookie.expires < 0
        ? 'Infinity'
        : new Date(browserCookie.expires * 1000),
  });
  if (browserCookie.sameSite) cookie.sameSite = browserCookie.sameSite.toLowerCase();
  return { cookie, url: target.href };
}
