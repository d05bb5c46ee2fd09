/**
 * One RFC 6265 cookie jar per session (tough-cookie), with caps: tough-cookie keeps any number of cookies, and
 * its deserializer recurses once per cookie, so a jar of a few thousand cookies cannot be restored. Like a
 * browser, the jar evicts its oldest cookie when a domain or the whole jar is full, and says how many it evicted.
 *
 * Every cookie is checked on its way into a jar (a response, a browser, a saved file, Redis): tough-cookie turns a
 * garbage date into an `Invalid Date` and then throws from `toJSON`, inside a callback, as an unhandled rejection
 * that ends the process; and a name with `;` would be written verbatim into the `Cookie` header.
 */
import {
  Cookie,
  CookieJar,
  type CookieJar as CookieJarType,
  getPublicSuffix,
  MemoryCookieStore,
  type SerializedCookieJar,
  version as toughCookieVersion,
} from 'tough-cookie';
import { InvalidCookieError, InvalidOptionError } from './errors.js';

export type { CookieJarType as CookieJar };

/** Longest `Set-Cookie` value accepted, and longest name plus value of any cookie (browsers take about 4 KiB). */
export const MAX_SET_COOKIE_LENGTH = 8192;

/** The last instant a JavaScript `Date` can hold (epoch ms); any later date cannot be written as ISO 8601. */
export const MAX_DATE_MS = 8.64e15;

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

/** Cookies a jar's caps evicted, as reported to `onCookiesEvicted` listeners. */
export interface CookieEvictions {
  /** Cookies evicted since the last report. */
  count: number;
  /** Evicted because their domain held `maxCookiesPerDomain` cookies. */
  maxCookiesPerDomain: number;
  /** Evicted because the jar held `maxCookiesPerSession` cookies. */
  maxCookiesPerSession: number;
}

export type CookieEvictionListener = (evictions: CookieEvictions) => void;

/** Why a cookie was left out of a restored jar or a serialized one. */
export type CookieDropReason = 'maxCookiesPerDomain' | 'maxCookiesPerSession' | 'publicSuffix' | 'invalid';

/** How many cookies were left out, and why. */
export interface CookieDrops {
  count: number;
  reasons: Partial<Record<CookieDropReason, number>>;
}

/** One cookie `serializeCookieJar` could not write; it was removed from the jar. */
export interface DroppedCookie {
  cookieName: string;
  domain: string | null;
  reason: string;
}

type ErrorCallback = (error: Error | null) => void;

/** True if `text` holds a control character (U+0000–U+001F, U+007F) or one of `also`. */
function hasForbidden(text: string, also: string, spaceToo = false): boolean {
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code < 0x20 || code === 0x7f || (spaceToo && code === 0x20) || also.includes(text[index] as string)) {
      return true;
    }
  }
  return false;
}

const CONTROL = { test: (text: string) => hasForbidden(text, '') };
const NAME_FORBIDDEN = { test: (text: string) => hasForbidden(text, ';=') };
const VALUE_FORBIDDEN = { test: (text: string) => hasForbidden(text, ';') };
const DOMAIN_FORBIDDEN = { test: (text: string) => hasForbidden(text, ';,/\\', true) };

function isValidDate(value: unknown): boolean {
  return value instanceof Date && Number.isFinite(value.getTime());
}

/** A problem with a field of a cookie, or undefined. */
export interface CookieProblem {
  field: string;
  problem: string;
}

/**
 * What is wrong with a cookie object, if anything: a field of the wrong type, a date that is not a date, a name or
 * value that would break the `Cookie` header, or a name plus value longer than `MAX_SET_COOKIE_LENGTH`.
 */
export function cookieProblem(cookie: Cookie): CookieProblem | undefined {
  const { key, value } = cookie;
  if (typeof key !== 'string') return { field: 'key', problem: 'not a string' };
  if (NAME_FORBIDDEN.test(key)) return { field: 'key', problem: 'contains ";", "=" or a control character' };
  if (typeof value !== 'string') return { field: 'value', problem: 'not a string' };
  if (VALUE_FORBIDDEN.test(value)) return { field: 'value', problem: 'contains ";" or a control character' };
  if (key.length + value.length > MAX_SET_COOKIE_LENGTH) {
    return { field: 'value', problem: `name and value are longer than ${MAX_SET_COOKIE_LENGTH} characters` };
  }
  const { domain, path } = cookie;
  if (domain != null && (typeof domain !== 'string' || DOMAIN_FORBIDDEN.test(domain))) {
    return { field: 'domain', problem: 'not a domain name' };
  }
  if (path != null && (typeof path !== 'string' || CONTROL.test(path) || path.includes(';'))) {
    return { field: 'path', problem: 'not a path' };
  }
  for (const field of ['expires', 'creation', 'lastAccessed'] as const) {
    const date: unknown = cookie[field];
    if (date != null && date !== 'Infinity' && !isValidDate(date)) {
      return { field, problem: 'not a valid date' };
    }
  }
  const { maxAge } = cookie;
  if (
    maxAge != null &&
    maxAge !== 'Infinity' &&
    maxAge !== '-Infinity' &&
    !(typeof maxAge === 'number' && Number.isFinite(maxAge))
  ) {
    return { field: 'maxAge', problem: 'not a number of seconds' };
  }
  for (const field of ['secure', 'httpOnly'] as const) {
    if (typeof cookie[field] !== 'boolean') return { field, problem: 'not a boolean' };
  }
  if (cookie.hostOnly != null && typeof cookie.hostOnly !== 'boolean') {
    return { field: 'hostOnly', problem: 'not a boolean' };
  }
  if (cookie.sameSite !== undefined && typeof cookie.sameSite !== 'string') {
    return { field: 'sameSite', problem: 'not a string' };
  }
  const { extensions } = cookie;
  if (
    extensions != null &&
    !(Array.isArray(extensions) && extensions.every((e) => typeof e === 'string' && !CONTROL.test(e)))
  ) {
    return { field: 'extensions', problem: 'not a list of attribute strings' };
  }
  return undefined;
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/**
 * True for a domain cookie whose domain is a public suffix (`com`, `co.uk`, `github.io`): tough-cookie refuses such
 * a `Set-Cookie` (`rejectPublicSuffixes`), but a cookie put straight into a store skips that check.
 */
export function isPublicSuffixCookie(cookie: Cookie): boolean {
  if (cookie.hostOnly === true || !cookie.domain) return false;
  const domain = cookie.domain.replace(/^\./, '').toLowerCase();
  if (IPV4.test(domain) || domain.includes(':')) return false;
  try {
    return getPublicSuffix(domain, { allowSpecialUseDomain: true }) == null;
  } catch {
    return true;
  }
}

/**
 * A synchronous memory store that evicts the oldest cookie of a full domain or a full jar, and refuses a cookie
 * `cookieProblem` finds fault with (with `InvalidCookieError`).
 */
export class CappedMemoryCookieStore extends MemoryCookieStore {
  readonly #limits: CookieLimits;
  #count = 0;
  #revision = 0;
  readonly #listeners = new Set<CookieEvictionListener>();
  #pending: CookieEvictions = emptyEvictions();
  #reportScheduled = false;

  constructor(limits: CookieLimits) {
    super();
    this.#limits = limits;
  }

  override putCookie(cookie: Cookie): Promise<void>;
  override putCookie(cookie: Cookie, callback: ErrorCallback): void;
  override putCookie(cookie: Cookie, callback?: ErrorCallback): Promise<void> | undefined {
    const problem =
      cookie instanceof Cookie ? cookieProblem(cookie) : { field: 'cookie', problem: 'not a Cookie' };
    if (problem) {
      const error = new InvalidCookieError(
        String(cookie?.domain ?? 'a stored cookie'),
        `${problem.field} ${problem.problem}`,
        { field: problem.field },
      );
      if (callback) {
        callback(error);
        return undefined;
      }
      return Promise.reject(error);
    }
    const { domain, path, key } = cookie;
    if (domain != null && path != null && key != null && !this.idx[domain]?.[path]?.[key]) {
      this.#makeRoom(domain);
      this.#count += 1;
    }
    this.#revision += 1;
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
    this.#revision += 1;
    if (callback) {
      super.removeCookie(domain, path, key, callback);
      return undefined;
    }
    return super.removeCookie(domain, path, key);
  }

  override removeCookies(domain: string, path: string): Promise<void>;
  override removeCookies(domain: string, path: string, callback: ErrorCallback): void;
  override removeCookies(domain: string, path: string, callback?: ErrorCallback): Promise<void> | undefined {
    this.#revision += 1;
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
    this.#revision += 1;
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

  /**
   * @internal Counts every write (put, update, removal): unchanged means the jar holds what it held then, so a
   * copy taken at that revision is still exact. Reads (which only touch `lastAccessed`) do not count.
   */
  get revision(): number {
    return this.#revision;
  }

  /** @internal See `onCookiesEvicted`. */
  addEvictionListener(listener: CookieEvictionListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** @internal Evictions not reported yet (and no longer to be): restore reports them in its own result. */
  takeEvictions(): CookieEvictions {
    const taken = this.#pending;
    this.#pending = emptyEvictions();
    return taken;
  }

  #makeRoom(domain: string): void {
    const inDomain = this.#cookies(domain);
    if (inDomain.length >= this.#limits.maxCookiesPerDomain) {
      this.#evictOldest(inDomain, 'maxCookiesPerDomain');
    }
    if (this.#count >= this.#limits.maxCookiesPerSession) {
      this.#evictOldest(this.#cookies(), 'maxCookiesPerSession');
    }
  }

  #evictOldest(cookies: Cookie[], limit: keyof CookieLimits): void {
    let oldest: Cookie | undefined;
    for (const cookie of cookies) {
      if (!oldest || compareCreation(cookie, oldest) < 0) oldest = cookie;
    }
    if (!oldest?.domain || !oldest.path) return;
    this.removeCookie(oldest.domain, oldest.path, oldest.key, noop);
    this.#pending.count += 1;
    this.#pending[limit] += 1;
    if (this.#listeners.size > 0 && !this.#reportScheduled) {
      this.#reportScheduled = true;
      // One report per burst: a response with 500 cookies into a full jar is one report, not 500.
      queueMicrotask(() => this.#report());
    }
  }

  #report(): void {
    this.#reportScheduled = false;
    const evictions = this.takeEvictions();
    if (evictions.count === 0) return;
    for (const listener of [...this.#listeners]) {
      try {
        listener(evictions);
      } catch {
        // A listener's failure must not break the jar (or surface as an unhandled error in a microtask).
      }
    }
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

function emptyEvictions(): CookieEvictions {
  return { count: 0, maxCookiesPerDomain: 0, maxCookiesPerSession: 0 };
}

function noop(): void {}

function createdAt(cookie: Cookie): number {
  const created = cookie.creation instanceof Date ? cookie.creation.getTime() : 0;
  return Number.isFinite(created) ? created : 0;
}

/** Oldest first: by creation time, then by tough-cookie's creation counter (cookies made in the same ms). */
function compareCreation(a: Cookie, b: Cookie): number {
  return createdAt(a) - createdAt(b) || (a.creationIndex ?? 0) - (b.creationIndex ?? 0);
}

/**
 * Which of `cookies` a capped jar keeps when they are put oldest first, each full domain and then a full jar
 * evicting its oldest cookie: the same outcome as putting them one by one, in linear time instead of a scan of the
 * jar per cookie (a Crawlee jar of 20,000 cookies took 19 s). A cookie with the key of one already kept replaces it.
 */
function survivors(
  cookies: Cookie[],
  limits: CookieLimits,
): { kept: Cookie[]; maxCookiesPerDomain: number; maxCookiesPerSession: number } {
  interface Entry {
    key: string;
    domain: string;
    cookie: Cookie;
  }
  const sorted = [...cookies].sort(compareCreation);
  const present = new Map<string, Entry>();
  // Oldest first; an entry no longer in `present` (evicted, or replaced by a newer cookie) is skipped.
  const global: Entry[] = [];
  let globalStart = 0;
  const byDomain = new Map<string, { entries: Entry[]; start: number; count: number }>();
  let perDomain = 0;
  let perSession = 0;
  const live = (entry: Entry | undefined) => entry !== undefined && present.get(entry.key) === entry;
  const evict = (entry: Entry) => {
    present.delete(entry.key);
    (byDomain.get(entry.domain) as { count: number }).count -= 1;
  };
  for (const cookie of sorted) {
    const entry: Entry = {
      key: `${cookie.domain};${cookie.path};${cookie.key}`,
      domain: String(cookie.domain),
      cookie,
    };
    let domain = byDomain.get(entry.domain);
    if (!domain) {
      domain = { entries: [], start: 0, count: 0 };
      byDomain.set(entry.domain, domain);
    }
    if (present.has(entry.key)) {
      // Replaced in place, as the store does: the newer cookie (and its creation time) takes the key.
      present.set(entry.key, entry);
    } else {
      if (domain.count >= limits.maxCookiesPerDomain) {
        while (!live(domain.entries[domain.start])) domain.start += 1;
        evict(domain.entries[domain.start] as Entry);
        perDomain += 1;
      }
      if (present.size >= limits.maxCookiesPerSession) {
        while (!live(global[globalStart])) globalStart += 1;
        evict(global[globalStart] as Entry);
        perSession += 1;
      }
      present.set(entry.key, entry);
      domain.count += 1;
    }
    global.push(entry);
    domain.entries.push(entry);
  }
  return {
    kept: [...present.values()].map((entry) => entry.cookie),
    maxCookiesPerDomain: perDomain,
    maxCookiesPerSession: perSession,
  };
}

/** A new, empty jar with the given caps; public-suffix cookies are rejected. */
export function createCookieJar(limits: CookieLimits): CookieJar {
  return new CookieJar(new CappedMemoryCookieStore(limits), { rejectPublicSuffixes: true });
}

/**
 * Calls `listener` with the number of cookies the jar's caps (`maxCookiesPerDomain`, `maxCookiesPerSession`)
 * evicted, once per microtask in which any were evicted. Returns a function that stops listening. A jar not made
 * by `createCookieJar` has no caps and never reports.
 *
 * @example
 * ```ts
 * const stop = onCookiesEvicted(session.cookieJar, ({ count }) => console.log(`${count} cookies evicted`));
 * ```
 */
export function onCookiesEvicted(jar: CookieJar, listener: CookieEvictionListener): () => void {
  const store = jar.store;
  if (!(store instanceof CappedMemoryCookieStore)) return noop;
  return store.addEvictionListener(listener);
}

/**
 * @internal The revision of a jar's store (see `CappedMemoryCookieStore.revision`), or undefined for a store
 * that does not count its writes.
 */
export function cookieJarRevision(jar: CookieJar): number | undefined {
  const store = jar.store;
  return store instanceof CappedMemoryCookieStore ? store.revision : undefined;
}

/** What `restoreCookieJar` built, and what it left out. */
export interface RestoredCookieJar {
  jar: CookieJar;
  dropped: CookieDrops;
}

function countDrop(drops: CookieDrops, reason: CookieDropReason, count = 1): void {
  if (count <= 0) return;
  drops.count += count;
  drops.reasons[reason] = (drops.reasons[reason] ?? 0) + count;
}

/**
 * Parses a jar from `CookieJar.serializeSync()` output into a capped store. Cookies that are not cookies, that
 * `cookieProblem` refuses or whose domain is a public suffix are left out; so are those the caps evict. `dropped`
 * counts them by reason.
 */
export function restoreCookies(serialized: unknown, limits: CookieLimits): RestoredCookieJar {
  const jar = createCookieJar(limits);
  const store = jar.store as CappedMemoryCookieStore;
  const dropped: CookieDrops = { count: 0, reasons: {} };
  const raws = (serialized as { cookies?: unknown } | null)?.cookies;
  const candidates: Cookie[] = [];
  for (const raw of Array.isArray(raws) ? raws : []) {
    let cookie: Cookie | undefined;
    try {
      cookie = typeof raw === 'object' && raw !== null ? Cookie.fromJSON(raw) : undefined;
    } catch {
      cookie = undefined;
    }
    if (!cookie || cookieProblem(cookie)) {
      countDrop(dropped, 'invalid');
      continue;
    }
    if (isPublicSuffixCookie(cookie)) {
      countDrop(dropped, 'publicSuffix');
      continue;
    }
    candidates.push(cookie);
  }
  const { kept, ...capped } = survivors(candidates, limits);
  countDrop(dropped, 'maxCookiesPerDomain', capped.maxCookiesPerDomain);
  countDrop(dropped, 'maxCookiesPerSession', capped.maxCookiesPerSession);
  for (const cookie of kept) {
    let refused = false;
    store.putCookie(cookie, (error) => {
      refused = error !== null;
    });
    if (refused) countDrop(dropped, 'invalid');
  }
  // None are expected (the survivors fit), but the store is the authority on its caps.
  const evicted = store.takeEvictions();
  countDrop(dropped, 'maxCookiesPerDomain', evicted.maxCookiesPerDomain);
  countDrop(dropped, 'maxCookiesPerSession', evicted.maxCookiesPerSession);
  return { jar, dropped };
}

/** `restoreCookies` without the report of what was left out. */
export function restoreCookieJar(serialized: unknown, limits: CookieLimits): CookieJar {
  return restoreCookies(serialized, limits).jar;
}

/**
 * Checks one cookie of a serialized jar (as read from a file or Redis): undefined if it restores cleanly, else the
 * field at fault (`expires`, `key`, …) and the problem.
 */
export function serializedCookieProblem(raw: unknown): CookieProblem | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { field: '', problem: 'not a serialized cookie (an object with "key" and "value")' };
  }
  const fields = raw as Record<string, unknown>;
  if (typeof fields.key !== 'string') return { field: 'key', problem: 'expected a string' };
  if (fields.value !== undefined && typeof fields.value !== 'string') {
    return { field: 'value', problem: 'expected a string' };
  }
  let cookie: Cookie | undefined;
  try {
    cookie = Cookie.fromJSON(raw);
  } catch {
    cookie = undefined;
  }
  if (!cookie) return { field: '', problem: 'not a serialized cookie (an object with "key" and "value")' };
  return cookieProblem(cookie);
}

/**
 * `CookieJar.serializeSync()` that cannot fail: a cookie that cannot be written (a date that is no date, put
 * into the store by hand) is removed from the jar and passed to `onDropped` instead of throwing, later, as an
 * unhandled rejection inside tough-cookie. Output matches `serializeSync()` for a jar of good cookies.
 */
export function serializeCookieJar(
  jar: CookieJar,
  onDropped?: (dropped: DroppedCookie) => void,
): SerializedCookieJar {
  let all: Cookie[] = [];
  try {
    jar.store.getAllCookies((error, cookies) => {
      if (!error && cookies) all = cookies;
    });
  } catch {
    all = [];
  }
  const cookies: SerializedCookieJar['cookies'] = [];
  for (const cookie of all) {
    let reason = cookieProblem(cookie);
    if (!reason) {
      try {
        const json = cookie.toJSON();
        delete json.creationIndex;
        cookies.push(json);
        continue;
      } catch (error) {
        reason = { field: 'cookie', problem: error instanceof Error ? error.message : String(error) };
      }
    }
    const { domain, path, key } = cookie;
    if (typeof domain === 'string' && typeof path === 'string' && typeof key === 'string') {
      jar.store.removeCookie(domain, path, key, noop);
    }
    onDropped?.({
      cookieName: String(key).slice(0, 256),
      domain: typeof domain === 'string' ? domain : null,
      reason: `${reason.field} ${reason.problem}`,
    });
  }
  const config = jar as unknown as Record<string, unknown>;
  return {
    version: `tough-cookie@${toughCookieVersion}`,
    storeType: jar.store.constructor.name || null,
    rejectPublicSuffixes: Boolean(config.rejectPublicSuffixes),
    enableLooseMode: Boolean(config.enableLooseMode),
    allowSpecialUseDomain: Boolean(config.allowSpecialUseDomain),
    enforceSecureOriginOnStorage: Boolean(config.enforceSecureOriginOnStorage),
    prefixSecurity: String(jar.prefixSecurity).toLowerCase(),
    cookies,
  };
}

/** Normalizes a `set-cookie` header value (string, array, or absent) to a list of strings; anything else is ignored. */
export function setCookieValues(header: unknown): string[] {
  if (typeof header === 'string') return [header];
  if (Array.isArray(header)) return header.filter((value): value is string => typeof value === 'string');
  return [];
}

/**
 * The `Set-Cookie` values of any headers shape (`node:http`, undici, fetch `Headers`); never throws: headers that
 * are absent, null, not an object or whose getters throw yield none.
 */
export function readSetCookieHeader(headers: unknown): string[] {
  if (typeof headers !== 'object' || headers === null) return [];
  try {
    const withGetter = headers as { get?: unknown; getSetCookie?: unknown };
    if (typeof withGetter.getSetCookie === 'function') {
      return setCookieValues((withGetter.getSetCookie as () => unknown).call(headers));
    }
    if (typeof withGetter.get === 'function') {
      return setCookieValues((withGetter.get as (name: string) => unknown).call(headers, 'set-cookie'));
    }
    const record = headers as Record<string, unknown>;
    const key = Object.keys(record).find((name) => name.toLowerCase() === 'set-cookie');
    return key === undefined ? [] : setCookieValues(record[key]);
  } catch {
    return [];
  }
}

/** The name of a raw `Set-Cookie` value, for reports (never its value). */
export function setCookieName(raw: unknown): string {
  if (typeof raw !== 'string') return '';
  const end = raw.indexOf('=');
  return (end === -1 ? raw : raw.slice(0, end)).trim().slice(0, 256);
}

/** Parses an absolute URL, or throws `InvalidOptionError` naming `field`. */
export function parseCookieUrl(url: unknown, field = 'url'): URL {
  if (url instanceof URL) return new URL(url.href);
  if (typeof url === 'string') {
    try {
      const parsed = new URL(url);
      if (parsed.hostname !== '') return parsed;
    } catch {
      // reported below
    }
  }
  throw new InvalidOptionError(field, `not a valid absolute URL: ${describe(url)}`);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 200));
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

/** The text of a URL argument for reports, whatever was passed. */
export function urlText(url: unknown): string {
  if (typeof url === 'string') return url;
  if (url instanceof URL) return url.href;
  return describe(url);
}

/** A typed error for whatever tough-cookie threw; with `field`, named after the caller's argument. */
function rethrowAsCookieError(error: unknown, href: string, field?: string): never {
  if (error instanceof InvalidCookieError && field === undefined) throw error;
  const detail =
    error instanceof InvalidCookieError ? error.message : String((error as Error)?.message ?? error);
  throw new InvalidCookieError(href, field === undefined ? detail : `${field}: ${detail}`, {
    cause: error,
    ...(field === undefined ? {} : { field }),
  });
}

/**
 * Stores one `Set-Cookie` value for `url` (`session.setCookie`). Throws `InvalidOptionError` (`url`) for a URL
 * that is not absolute, `InvalidCookieError` for a value that is not a string, too long, malformed or refused.
 */
export function storeSetCookie(jar: CookieJar, rawCookie: unknown, url: unknown): void {
  const href = parseCookieUrl(url).href;
  if (typeof rawCookie !== 'string') {
    throw new InvalidCookieError(href, `expected a Set-Cookie string, got ${describe(rawCookie)}`);
  }
  if (rawCookie.length > MAX_SET_COOKIE_LENGTH) {
    throw new InvalidCookieError(href, `longer than ${MAX_SET_COOKIE_LENGTH} characters`);
  }
  let stored: unknown;
  try {
    stored = jar.setCookieSync(rawCookie, href);
  } catch (error) {
    rethrowAsCookieError(error, href);
  }
  if (!stored) throw new InvalidCookieError(href, 'could not be parsed');
}

/**
 * Stores Playwright/Puppeteer cookies for `url` (`session.setCookies`). Every cookie is checked before any is
 * stored; the jar may still refuse one (a public suffix, a foreign domain), and then the ones before it are kept.
 */
export function storeBrowserCookies(jar: CookieJar, cookies: unknown, url: unknown): void {
  const base = parseCookieUrl(url);
  const converted = checkBrowserCookies(cookies, base).map((browserCookie, index) => {
    try {
      return fromBrowserCookie(browserCookie, base);
    } catch (error) {
      return rethrowAsCookieError(error, base.href, `cookies[${index}].domain`);
    }
  });
  converted.forEach(({ cookie, url: target }, index) => {
    try {
      jar.setCookieSync(cookie, target);
    } catch (error) {
      rethrowAsCookieError(error, target, `cookies[${index}]`);
    }
  });
}

function readJar<T>(url: unknown, read: (href: string) => T): T {
  const href = parseCookieUrl(url).href;
  try {
    return read(href);
  } catch (error) {
    throw new InvalidOptionError('url', `cannot read cookies for ${href}: ${String(error)}`);
  }
}

/** The cookies the jar sends to `url`, as Playwright/Puppeteer cookies (`session.getCookies`). */
export function browserCookiesFor(jar: CookieJar, url: unknown): BrowserCookie[] {
  return readJar(url, (href) => jar.getCookiesSync(href).map(toBrowserCookie));
}

/** The `Cookie` header the jar sends to `url` (`session.getCookieString`). */
export function cookieHeaderFor(jar: CookieJar, url: unknown): string {
  return readJar(url, (href) => jar.getCookieStringSync(href));
}

/** Converts a tough-cookie cookie into the Playwright/Puppeteer shape. */
export function toBrowserCookie(cookie: Cookie): BrowserCookie {
  const expires = cookie.expiryTime();
  const browserCookie: BrowserCookie = {
    name: cookie.key,
    value: cookie.value,
    domain: cookie.hostOnly ? (cookie.domain ?? undefined) : `.${cookie.domain}`,
    path: cookie.path ?? '/',
    expires:
      expires === undefined || !Number.isFinite(expires)
        ? -1
        : Math.floor(Math.min(expires, MAX_DATE_MS) / 1000),
    httpOnly: cookie.httpOnly,
    secure: cookie.secure,
  };
  const sameSite = sameSiteName(cookie.sameSite);
  if (sameSite) browserCookie.sameSite = sameSite;
  return browserCookie;
}

function sameSiteName(value: unknown): BrowserCookie['sameSite'] {
  switch (typeof value === 'string' ? value.toLowerCase() : undefined) {
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
 * Checks the cookies passed to `session.setCookies` before any is stored, so a bad one leaves the jar as it was.
 * Throws `InvalidCookieError` whose `field` names the bad one (`cookies[2].expires`).
 */
export function checkBrowserCookies(cookies: unknown, url: URL): readonly BrowserCookie[] {
  if (!Array.isArray(cookies)) {
    throw new InvalidCookieError(url.href, `expected an array of cookie objects, got ${describe(cookies)}`, {
      field: 'cookies',
    });
  }
  cookies.forEach((cookie, index) => {
    const fail = (field: string, problem: string): never => {
      const at = field === '' ? `cookies[${index}]` : `cookies[${index}].${field}`;
      throw new InvalidCookieError(url.href, `${at} ${problem}`, { field: at });
    };
    if (typeof cookie !== 'object' || cookie === null || Array.isArray(cookie)) {
      fail('', `must be a cookie object, got ${describe(cookie)}`);
    }
    const fields = cookie as Record<string, unknown>;
    const { name, value, domain, path, expires, sameSite } = fields;
    if (typeof name !== 'string' || name.length === 0) fail('name', 'must be a non-empty string');
    if (NAME_FORBIDDEN.test(name as string)) fail('name', 'contains ";", "=" or a control character');
    if (typeof value !== 'string') fail('value', `must be a string, got ${describe(value)}`);
    if (VALUE_FORBIDDEN.test(value as string)) fail('value', 'contains ";" or a control character');
    if ((name as string).length + (value as string).length > MAX_SET_COOKIE_LENGTH) {
      fail('value', `name and value are longer than ${MAX_SET_COOKIE_LENGTH} characters`);
    }
    if (
      domain !== undefined &&
      (typeof domain !== 'string' || domain === '' || DOMAIN_FORBIDDEN.test(domain))
    ) {
      fail('domain', 'must be a host name, or "." and a domain');
    }
    if (
      path !== undefined &&
      (typeof path !== 'string' || !path.startsWith('/') || VALUE_FORBIDDEN.test(path))
    ) {
      fail('path', 'must be a path starting with "/"');
    }
    if (
      expires !== undefined &&
      !(typeof expires === 'number' && Number.isFinite(expires) && expires * 1000 <= MAX_DATE_MS)
    ) {
      fail('expires', `must be seconds since the epoch (or -1), got ${describe(expires)}`);
    }
    for (const flag of ['httpOnly', 'secure'] as const) {
      if (fields[flag] !== undefined && typeof fields[flag] !== 'boolean') fail(flag, 'must be a boolean');
    }
    if (sameSite !== undefined && sameSiteName(sameSite) === undefined) {
      fail('sameSite', 'must be "Strict", "Lax" or "None"');
    }
  });
  return cookies as BrowserCookie[];
}

/**
 * Converts a Playwright/Puppeteer cookie to a tough-cookie one plus the URL to set it for. A leading dot marks a
 * domain cookie (`.example.com`); a bare domain is host-only and is set for that host, as a browser would.
 * Check the input with `checkBrowserCookies` first.
 */
export function fromBrowserCookie(browserCookie: BrowserCookie, url: URL): { cookie: Cookie; url: string } {
  const domain = browserCookie.domain ?? url.hostname;
  const hostOnly = !domain.startsWith('.');
  const target = new URL(url);
  if (hostOnly) {
    target.hostname = domain;
    // `URL` ignores a host name it cannot parse; the cookie would silently land on the page's own host.
    if (target.hostname !== domain.toLowerCase()) {
      throw new InvalidCookieError(url.href, `domain ${JSON.stringify(domain)} is not a host name`, {
        field: 'domain',
      });
    }
  }
  const expires = browserCookie.expires;
  const cookie = new Cookie({
    key: browserCookie.name,
    value: browserCookie.value,
    domain: hostOnly ? null : domain.slice(1),
    path: browserCookie.path ?? '/',
    httpOnly: browserCookie.httpOnly ?? false,
    secure: browserCookie.secure ?? false,
    expires: expires === undefined || expires < 0 ? 'Infinity' : new Date(expires * 1000),
  });
  const sameSite = sameSiteName(browserCookie.sameSite);
  if (sameSite) cookie.sameSite = sameSite.toLowerCase();
  return { cookie, url: target.href };
}
