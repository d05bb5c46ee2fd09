/**
 * Issue 13, findings 1, 4 and 5 on a live session: cookie dates that are no dates, arguments of the wrong kind,
 * header injection through `setCookies`, and cookies the caps evict. Every bad input gets a typed error naming
 * the field (or, from a response, a `cookieRejected` report); nothing crashes the process.
 */
import { Cookie } from 'tough-cookie';
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { type CookieEvictions, onCookiesEvicted, serializeCookieJar } from '../src/cookies.js';
import {
  type CookieRejection,
  InvalidCookieError,
  InvalidOptionError,
  SessionPool,
  type SessionPoolOptions,
} from '../src/index.js';

const pools: SessionPool[] = [];
afterEach(async () => {
  for (const pool of pools.splice(0)) await pool.teardown();
});

async function openSession(options: SessionPoolOptions<SessionPool> = {}) {
  const clock = new SimulatedClock();
  clock.set(Date.UTC(2026, 0, 1));
  const pool = await SessionPool.open({ clock, ...options });
  pools.push(pool);
  const rejections: CookieRejection[] = [];
  pool.on('cookieRejected', (rejection) => rejections.push(rejection));
  return { pool, rejections, session: await pool.getSession() };
}

const URL_ = 'https://shop.example.com/';

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('cookie dates (finding 1)', () => {
  it.each([Number.NaN, Number.POSITIVE_INFINITY, 1e300, '2030-01-01'])(
    'refuses expires: %s from setCookies with a typed error, and getState still works',
    async (expires) => {
      const { session } = await openSession();
      const error = thrown(() =>
        session.setCookies([{ name: 'a', value: 'b', expires: expires as number }], URL_),
      );
      expect(error).toBeInstanceOf(InvalidCookieError);
      expect(error).toMatchObject({ field: 'cookies[0].expires', code: 'ERR_INVALID_COOKIE' });
      expect(session.getState().cookieJar.cookies).toEqual([]);
    },
  );

  it('refuses a Cookie object with an invalid date put straight into the jar', async () => {
    const { session } = await openSession();
    const cookie = new Cookie({ key: 'a', value: 'b', expires: new Date(Number.NaN) });
    expect(() => session.cookieJar.setCookieSync(cookie, URL_)).toThrow(InvalidCookieError);
    expect(session.getState().cookieJar.cookies).toEqual([]);
  });

  it('serializes exactly as tough-cookie does for good cookies', async () => {
    const { session } = await openSession();
    session.setCookie('a=1; Path=/; HttpOnly; SameSite=Lax', URL_);
    session.setCookie('b=2; Domain=example.com; Max-Age=60', URL_);
    expect(serializeCookieJar(session.cookieJar)).toEqual(session.cookieJar.serializeSync());
    expect(session.getState().cookieJar).toEqual(session.cookieJar.serializeSync());
  });
});

describe('typed errors for bad arguments (finding 4)', () => {
  it('names the url of getCookies, getCookieString, setCookie and setCookies', async () => {
    const { session } = await openSession();
    for (const run of [
      () => session.getCookies('not a url'),
      () => session.getCookieString('::::'),
      () => session.setCookie('a=b', 'relative/path'),
      () => session.setCookies([], 42 as never),
    ]) {
      const error = thrown(run);
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect(error).toMatchObject({ field: 'url', code: 'ERR_INVALID_OPTION' });
    }
  });

  it.each([
    [{}, 'cookies'],
    ['a=b', 'cookies'],
    [[null], 'cookies[0]'],
    [[{ name: 'ok', value: 'v' }, 7], 'cookies[1]'],
    [[{ value: 'v' }], 'cookies[0].name'],
    [[{ name: 'a', value: 5 }], 'cookies[0].value'],
    [[{ name: 'a', value: 'b', sameSite: 'sometimes' }], 'cookies[0].sameSite'],
    [[{ name: 'a', value: 'b', httpOnly: 'yes' }], 'cookies[0].httpOnly'],
    [[{ name: 'a', value: 'b', domain: 'evil.example/x' }], 'cookies[0].domain'],
    [[{ name: 'a', value: 'b', path: 'no-slash' }], 'cookies[0].path'],
  ])('setCookies(%j) throws InvalidCookieError naming %s, storing nothing', async (cookies, field) => {
    const { session } = await openSession();
    const error = thrown(() => session.setCookies(cookies as never, URL_));
    expect(error).toBeInstanceOf(InvalidCookieError);
    expect(error).toMatchObject({ field });
    expect(session.getCookieString(URL_)).toBe('');
  });

  it('refuses names and values that would inject into the Cookie header, and overlong cookies', async () => {
    const { session } = await openSession();
    for (const [cookie, field] of [
      [{ name: 'a;b', value: 'c=d' }, 'cookies[0].name'],
      [{ name: 'a', value: 'b; admin=1' }, 'cookies[0].value'],
      [{ name: 'a\r\nX-Injected', value: '1' }, 'cookies[0].name'],
      [{ name: 'a=b', value: 'c' }, 'cookies[0].name'],
      [{ name: 'big', value: 'x'.repeat(9000) }, 'cookies[0].value'],
    ] as const) {
      expect(() => session.setCookies([cookie], URL_)).toThrow(expect.objectContaining({ field }));
    }
    // The same checks hold for a Cookie object handed to the jar directly.
    expect(() => session.cookieJar.setCookieSync(new Cookie({ key: 'a;b', value: 'c=d' }), URL_)).toThrow(
      InvalidCookieError,
    );
    expect(session.getCookieString(URL_)).toBe('');
    session.setCookies([{ name: 'fine', value: 'yes' }], URL_);
    expect(session.getCookieString(URL_)).toBe('fine=yes');
  });

  it('setCookie refuses a value that is not a string', async () => {
    const { session } = await openSession();
    expect(() => session.setCookie(42 as never, URL_)).toThrow(InvalidCookieError);
  });

  it.each([
    { headers: null, url: URL_ },
    { headers: undefined, url: URL_ },
    { headers: 'set-cookie: a=b', url: URL_ },
    { headers: { 'set-cookie': [null, 5, { a: 1 }] }, url: URL_ },
    {
      headers: {
        get() {
          throw new Error('boom');
        },
      },
      url: URL_,
    },
    null,
  ])('setCookiesFromResponse(%j) never throws', async (response) => {
    const { session } = await openSession();
    expect(() => session.setCookiesFromResponse(response as never)).not.toThrow();
    expect(session.getCookieString(URL_)).toBe('');
  });

  it('reports, not throws, cookies of a response whose url is not a url', async () => {
    const { session, rejections } = await openSession();
    session.setCookiesFromResponse({ headers: { 'set-cookie': 'a=b' }, url: 'nowhere' });
    expect(rejections).toEqual([expect.objectContaining({ cookieName: 'a', url: 'nowhere' })]);
  });
});

describe('evictions are reported (finding 5)', () => {
  it('calls onCookiesEvicted once per burst with the counts per cap', async () => {
    const { session } = await openSession({ maxCookiesPerDomain: 3, maxCookiesPerSession: 5 });
    const reports: CookieEvictions[] = [];
    const stop = onCookiesEvicted(session.cookieJar, (evictions) => reports.push(evictions));
    session.setCookiesFromResponse({
      url: 'https://a.example/',
      headers: { 'set-cookie': ['a1=1', 'a2=2', 'a3=3', 'a4=4', 'a5=5'] },
    });
    session.setCookies(
      [
        { name: 'b1', value: '1', domain: 'b.example' },
        { name: 'b2', value: '2', domain: 'b.example' },
        { name: 'b3', value: '3', domain: 'b.example' },
      ],
      'https://b.example/',
    );
    expect(reports).toEqual([]); // reported after the burst, not in the middle of it
    await Promise.resolve();
    expect(reports).toEqual([{ count: 3, maxCookiesPerDomain: 2, maxCookiesPerSession: 1 }]);
    expect(session.getCookieString('https://a.example/')).toBe('a4=4; a5=5');
    expect(session.getCookieString('https://b.example/')).toBe('b1=1; b2=2; b3=3');

    stop();
    session.setCookie('b4=4', 'https://b.example/');
    await Promise.resolve();
    expect(reports).toHaveLength(1);
  });
});
