/**
 * Fuzzing the cookie ways in: random `Set-Cookie` strings (from bytes and from cookie-shaped pieces with hostile
 * attribute values) and random browser cookie objects. Whatever comes in, the session throws only typed errors
 * (`setCookie`, `setCookies`) or nothing at all (`setCookiesFromResponse`), never breaks its `Cookie` header, and
 * its state always serializes and restores.
 */
import fc from 'fast-check';
import { Cookie } from 'tough-cookie';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { type CappedMemoryCookieStore, createCookieJar, restoreCookies } from '../../src/cookies.js';
import { type CookieRejection, type Session, SessionPool, SessionSupervisorError } from '../../src/index.js';
import { fuzzParameters, fuzzTimeout } from './fuzz-config.js';

const URLS = [
  'https://shop.example.com/cart',
  'http://127.0.0.1:8080/',
  'http://localhost/',
  'https://www.example.co.uk/a/b',
];

let pool: SessionPool;
const rejections: CookieRejection[] = [];

beforeAll(async () => {
  const clock = new SimulatedClock();
  clock.set(Date.UTC(2026, 0, 1));
  pool = await SessionPool.open({
    clock,
    maxPoolSize: 10_000,
    maxCookiesPerSession: 50,
    maxCookiesPerDomain: 20,
  });
  pool.on('cookieRejected', (rejection) => rejections.push(rejection));
});
afterAll(() => pool.teardown());

/** Whether `text` holds a control character (U+0000–U+001F, U+007F) or one of `also`. */
function hasForbidden(text: string, also: string): boolean {
  return [...text].some(
    (char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f || also.includes(char),
  );
}

/** What must hold of a session whatever was done to its jar. */
function checkInvariants(session: Session): void {
  const state = session.getState();
  const text = JSON.stringify(state);
  expect(typeof text).toBe('string');
  for (const url of URLS) {
    const header = session.getCookieString(url);
    // No control character can reach the header, so no header injection.
    expect(hasForbidden(header, '')).toBe(false);
    for (const cookie of session.getCookies(url)) {
      expect(hasForbidden(cookie.name, ';=')).toBe(false);
      expect(hasForbidden(cookie.value, ';')).toBe(false);
      expect(Number.isFinite(cookie.expires)).toBe(true);
    }
  }
  // What was saved restores, cookie for cookie.
  const restored = restoreCookies(JSON.parse(text).cookieJar, {
    maxCookiesPerSession: 50,
    maxCookiesPerDomain: 20,
  });
  expect(restored.dropped.count).toBe(0);
  for (const url of URLS) {
    expect(restored.jar.getCookieStringSync(url)).toBe(session.cookieJar.getCookieStringSync(url));
  }
}

function expectTypedOrNothing(run: () => void): void {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SessionSupervisorError);
    expect((error as SessionSupervisorError).code).toMatch(/^ERR_INVALID_(COOKIE|OPTION)$/);
  }
}

const hostileText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    'garbage',
    '',
    ';',
    '=',
    '\r\nX-Injected: 1',
    'Thu, 01 Jan 1970 00:00:00 GMT',
    'Fri, 31 Dec 275760 23:59:59 GMT',
    '1e300',
    'NaN',
    '-1',
    'Infinity',
    'com',
    '.co.uk',
    'github.io',
    'localhost',
    '127.0.0.1',
    '[::1]',
    '/../',
    'None',
    'x'.repeat(9_000),
  ),
);

const attribute = fc.tuple(
  fc.constantFrom('Expires', 'Max-Age', 'Domain', 'Path', 'SameSite', 'Secure', 'HttpOnly', 'Priority', 'X'),
  hostileText,
);

const setCookieString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc
    .tuple(hostileText, hostileText, fc.array(attribute, { maxLength: 5 }))
    .map(([name, value, attributes]) =>
      [`${name}=${value}`, ...attributes.map(([key, text]) => `${key}=${text}`)].join('; '),
    ),
);

describe('fuzz: Set-Cookie strings', () => {
  it(
    'setCookie throws only typed errors, setCookiesFromResponse never throws, the jar always serializes',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(setCookieString, { minLength: 1, maxLength: 6 }),
          fc.constantFrom(...URLS, 'not a url', '::::'),
          async (values, url) => {
            const session = await pool.addSession();
            for (const value of values) expectTypedOrNothing(() => session.setCookie(value, url));
            expect(() =>
              session.setCookiesFromResponse({ headers: { 'set-cookie': values }, url }),
            ).not.toThrow();
            checkInvariants(session);
            session.retire();
          },
        ),
        fuzzParameters(300),
      );
    },
    fuzzTimeout(300, 20),
  );
});

const anyValue = fc.oneof(
  fc.anything(),
  hostileText,
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -1, 0, 1e300, 8.64e12, 8.64e12 + 1, -0, 2 ** 53),
  fc.double(),
);

const browserCookie = fc.oneof(
  fc.anything(),
  fc.record(
    {
      name: fc.oneof(fc.string({ maxLength: 12 }), anyValue),
      value: fc.oneof(fc.string({ maxLength: 12 }), anyValue),
      domain: fc.oneof(
        fc.constantFrom('shop.example.com', '.example.com', '.com', 'evil.test', '127.0.0.1'),
        anyValue,
      ),
      path: fc.oneof(fc.constantFrom('/', '/cart'), anyValue),
      expires: anyValue,
      httpOnly: fc.oneof(fc.boolean(), anyValue),
      secure: fc.oneof(fc.boolean(), anyValue),
      sameSite: fc.oneof(fc.constantFrom('Strict', 'Lax', 'None'), anyValue),
    },
    { requiredKeys: [] },
  ),
);

describe('fuzz: browser cookie objects', () => {
  it(
    'setCookies throws only typed errors and never leaves an unserializable jar',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(fc.array(browserCookie, { maxLength: 5 }), anyValue),
          fc.constantFrom(...URLS, 'nope'),
          async (cookies, url) => {
            const session = await pool.addSession();
            expectTypedOrNothing(() => session.setCookies(cookies as never, url));
            expectTypedOrNothing(() => session.getCookies(cookies as never));
            checkInvariants(session);
            session.retire();
          },
        ),
        fuzzParameters(300),
      );
    },
    fuzzTimeout(300, 20),
  );
});

describe('fuzz: restoring a jar over its caps', () => {
  const savedCookie = fc.record({
    key: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'),
    value: fc.constant('v'),
    domain: fc.constantFrom('one.example', 'two.example', 'three.example'),
    path: fc.constantFrom('/', '/x'),
    hostOnly: fc.constant(true),
    creation: fc.integer({ min: 0, max: 20 }).map((ms) => new Date(Date.UTC(2026, 0, 1) + ms).toISOString()),
  });

  it('keeps exactly what putting the cookies one by one, oldest first, keeps, and counts the rest', () => {
    fc.assert(
      fc.property(
        fc.array(savedCookie, { maxLength: 60 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 6 }),
        (cookies, maxCookiesPerSession, maxCookiesPerDomain) => {
          const limits = { maxCookiesPerSession, maxCookiesPerDomain };
          const restored = restoreCookies({ cookies }, limits);
          const reference = createCookieJar(limits);
          const parsed = cookies.map((raw) => Cookie.fromJSON(raw) as Cookie);
          parsed.sort(
            (a, b) =>
              (a.creation as Date).getTime() - (b.creation as Date).getTime() ||
              a.creationIndex - b.creationIndex,
          );
          for (const cookie of parsed) reference.store.putCookie(cookie, () => {});
          const keys = (jar: typeof reference) =>
            (jar.serializeSync()?.cookies ?? []).map((c) => `${c.domain};${c.path};${c.key}`).sort();
          expect(keys(restored.jar)).toEqual(keys(reference));
          expect(keys(restored.jar).length).toBeLessThanOrEqual(maxCookiesPerSession);
          const evicted = (reference.store as CappedMemoryCookieStore).takeEvictions();
          expect(restored.dropped).toEqual({
            count: evicted.count,
            reasons: {
              ...(evicted.maxCookiesPerDomain ? { maxCookiesPerDomain: evicted.maxCookiesPerDomain } : {}),
              ...(evicted.maxCookiesPerSession ? { maxCookiesPerSession: evicted.maxCookiesPerSession } : {}),
            },
          });
        },
      ),
      fuzzParameters(300),
    );
  });
});
