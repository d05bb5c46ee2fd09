/**
 * A whole cookie jar in Playwright's `storageState` format, the ecosystem's whole-jar format: every cookie of the
 * jar (path-scoped, other subdomains, Secure ones), not only what one URL would be sent. Conventions are
 * Playwright's: `expires` in whole seconds since the epoch and -1 for a session cookie, `sameSite` one of
 * `'Strict' | 'Lax' | 'None'`, a leading dot on the `domain` of a domain cookie and none on a host-only one.
 */
import { Cookie, CookieJar } from 'tough-cookie';
import { InvalidCookieError, InvalidOptionError } from './errors.js';

/** One cookie of a Playwright `storageState` document (what `context.cookies()` returns, too). */
export interface StorageStateCookie {
  name: string;
  value: string;
  /** `.example.com` for a domain cookie, `example.com` for a host-only one. */
  domain: string;
  path: string;
  /** Seconds since the epoch; -1 for a session cookie. */
  expires: number;
  httpOnly: boolean;
  secure: boolean;
  sameSite: 'Strict' | 'Lax' | 'None';
}

/** Playwright's `storageState`: cookies, and the origins' `localStorage` (which a cookie jar does not hold). */
export interface StorageState {
  cookies: StorageStateCookie[];
  origins: { origin: string; localStorage: { name: string; value: string }[] }[];
}

/** What `importStorageState` accepts: a `storageState` document, or just its cookies. */
export type StorageStateInput = { cookies: readonly StorageStateCookie[]; origins?: unknown } | string;

export interface StorageStateOptions {
  /** The time that decides which cookies have expired, in ms since the epoch. @defaultValue `Date.now()` */
  now?: number;
}

/** The last second a JavaScript `Date` can hold. */
const MAX_EXPIRES_SECS = 8.64e12;

const SAME_SITE = { strict: 'Strict', lax: 'Lax', none: 'None' } as const;

/** `SameSite` as Playwright writes it; a cookie without the attribute is `Lax`, as browsers treat it. */
function sameSiteOf(cookie: Cookie): StorageStateCookie['sameSite'] {
  return SAME_SITE[(cookie.sameSite ?? '').toLowerCase() as keyof typeof SAME_SITE] ?? 'Lax';
}

function toStorageCookie(cookie: Cookie): StorageStateCookie {
  const expiry = cookie.expiryTime();
  return {
    name: cookie.key,
    value: cookie.value,
    domain: cookie.hostOnly === false ? `.${cookie.domain}` : (cookie.domain ?? ''),
    path: cookie.path ?? '/',
    // Browsers keep whole seconds (Chromium rounds a fraction down), so a round trip through one is exact.
    expires: expiry === undefined || !Number.isFinite(expiry) ? -1 : Math.floor(expiry / 1000),
    httpOnly: cookie.httpOnly,
    secure: cookie.secure,
    sameSite: sameSiteOf(cookie),
  };
}

/**
 * Every unexpired cookie of `jar` as a Playwright `storageState` document (`origins` is empty: a jar holds no
 * `localStorage`). Pass it to `browser.newContext({ storageState })` or `context.addCookies(state.cookies)`.
 * @example
 * ```ts
 * const context = await browser.newContext({ storageState: exportStorageState(session.cookieJar) });
 * ```
 */
export function exportStorageState(jar: CookieJar, options: StorageStateOptions = {}): StorageState {
  const now = options.now ?? Date.now();
  const serialized = jar.serializeSync() as { cookies?: unknown[] } | undefined;
  const cookies: StorageStateCookie[] = [];
  for (const raw of serialized?.cookies ?? []) {
    const cookie = Cookie.fromJSON(raw);
    if (!cookie) continue;
    const expiry = cookie.expiryTime();
    if (expiry !== undefined && expiry <= now) continue;
    cookies.push(toStorageCookie(cookie));
  }
  return { cookies, origins: [] };
}

function fail(field: string, problem: string): never {
  throw new InvalidOptionError(field, problem);
}

/** A control character, or one of `also`. */
function hasForbidden(text: string, also: string): boolean {
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code < 0x20 || code === 0x7f || also.includes(text.charAt(index))) return true;
  }
  return false;
}

/** Checks one cookie of the document; `field` names it in errors (`storageState.cookies[3]`). */
function validateCookie(raw: unknown, field: string): StorageStateCookie {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(field, 'expected a cookie object');
  const cookie = raw as Record<string, unknown>;
  for (const key of ['name', 'value', 'domain'] as const) {
    if (typeof cookie[key] !== 'string') fail(`${field}.${key}`, 'expected a string');
  }
  // A `;` or a control character would be written verbatim into the `Cookie` header.
  if (cookie.name === '' || hasForbidden(cookie.name as string, ';=')) {
    fail(`${field}.name`, 'expected a cookie name without ";", "=" or control characters');
  }
  if (hasForbidden(cookie.value as string, ';')) {
    fail(`${field}.value`, 'expected a value without ";" or control characters');
  }
  if (!/^\.?[^\s;,/\\.][^\s;,/\\]*$/.test(cookie.domain as string)) {
    fail(`${field}.domain`, 'expected a host name, with a leading dot for a domain cookie');
  }
  if (cookie.path !== undefined && (typeof cookie.path !== 'string' || !cookie.path.startsWith('/'))) {
    fail(`${field}.path`, "expected a path starting with '/'");
  }
  if (
    cookie.expires !== undefined &&
    (typeof cookie.expires !== 'number' || Number.isNaN(cookie.expires) || cookie.expires > MAX_EXPIRES_SECS)
  ) {
    fail(`${field}.expires`, 'expected seconds since the epoch, or -1 for a session cookie');
  }
  for (const key of ['httpOnly', 'secure'] as const) {
    if (cookie[key] !== undefined && typeof cookie[key] !== 'boolean')
      fail(`${field}.${key}`, 'expected a boolean');
  }
  if (cookie.sameSite !== undefined && !['Strict', 'Lax', 'None'].includes(cookie.sameSite as string)) {
    fail(`${field}.sameSite`, `expected 'Strict', 'Lax' or 'None', got ${JSON.stringify(cookie.sameSite)}`);
  }
  return {
    name: cookie.name as string,
    value: cookie.value as string,
    domain: cookie.domain as string,
    path: (cookie.path as string | undefined) ?? '/',
    expires: (cookie.expires as number | undefined) ?? -1,
    httpOnly: (cookie.httpOnly as boolean | undefined) ?? false,
    secure: (cookie.secure as boolean | undefined) ?? false,
    sameSite: (cookie.sameSite as StorageStateCookie['sameSite'] | undefined) ?? 'Lax',
  };
}

/** Parses and checks a whole document before anything is written. */
function validateState(input: unknown): StorageStateCookie[] {
  let parsed = input;
  if (typeof input === 'string') {
    try {
      parsed = JSON.parse(input);
    } catch (error) {
      fail('storageState', `not valid JSON: ${(error as Error).message}`);
    }
  }
  const cookies = (parsed as { cookies?: unknown } | null)?.cookies;
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray(cookies)) {
    fail('storageState', 'expected an object with a "cookies" array (Playwright storageState)');
  }
  const origins = (parsed as { origins?: unknown }).origins;
  if (origins !== undefined && !Array.isArray(origins)) fail('storageState.origins', 'expected an array');
  return cookies.map((raw, index) => validateCookie(raw, `storageState.cookies[${index}]`));
}

/** A tough-cookie cookie and the URL a browser would have received it from. */
function toToughCookie(cookie: StorageStateCookie): { cookie: Cookie; url: string } {
  const hostOnly = !cookie.domain.startsWith('.');
  const host = hostOnly ? cookie.domain : cookie.domain.slice(1);
  const tough = new Cookie({
    key: cookie.name,
    value: cookie.value,
    domain: hostOnly ? null : host,
    path: cookie.path,
    httpOnly: cookie.httpOnly,
    secure: cookie.secure,
    expires: cookie.expires < 0 ? 'Infinity' : new Date(cookie.expires * 1000),
    sameSite: cookie.sameSite.toLowerCase(),
  });
  // tough-cookie 6 refuses a Secure cookie from an http URL.
  const hostname = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return { cookie: tough, url: `${cookie.secure ? 'https' : 'http'}://${hostname}${cookie.path}` };
}

/**
 * Writes the cookies of a Playwright `storageState` document (an object or its JSON text) into `jar`, replacing
 * cookies of the same name, domain and path; `origins` is ignored. All or nothing: the whole document is checked
 * first (`InvalidOptionError` naming the field, `InvalidCookieError` for a cookie the jar refuses, such as a
 * public-suffix domain), and nothing is written if any of it is bad. Cookies already expired are skipped.
 * Returns how many cookies were written.
 * @example
 * ```ts
 * importStorageState(session.cookieJar, await context.storageState());
 * ```
 */
export function importStorageState(
  jar: CookieJar,
  state: StorageStateInput,
  options: StorageStateOptions = {},
): number {
  const now = options.now ?? Date.now();
  const cookies = validateState(state)
    .filter((cookie) => cookie.expires < 0 || cookie.expires * 1000 > now)
    .map(toToughCookie);
  // A scratch jar with the same rules finds refusals before the real jar is touched.
  const scratch = new CookieJar(undefined, { rejectPublicSuffixes: true });
  for (const { cookie, url } of cookies) setOrThrow(scratch, cookie, url, now);
  for (const { cookie, url } of cookies) setOrThrow(jar, cookie, url, now);
  return cookies.length;
}

function setOrThrow(jar: CookieJar, cookie: Cookie, url: string, now: number): void {
  let stored: unknown;
  try {
    stored = jar.setCookieSync(cookie.clone() ?? cookie, url, { now: new Date(now) });
  } catch (error) {
    throw new InvalidCookieError(
      url,
      `${cookie.key}: ${error instanceof Error ? error.message : String(error)}`,
      {
        cause: error,
      },
    );
  }
  if (!stored) throw new InvalidCookieError(url, `${cookie.key}: refused by the jar`);
}
