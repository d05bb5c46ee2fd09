import { describe, expect, it } from 'vitest';
import { cookieJarRevision, restoreCookieJar } from '../../src/cookies.js';
import { type CookieRejection, InvalidCookieError } from '../../src/index.js';
import { usePoolPerTest } from './helpers.js';

const open = usePoolPerTest();

async function openWithRejections(options: Parameters<typeof open>[0] = {}) {
  const opened = await open(options);
  const rejections: CookieRejection[] = [];
  opened.pool.on('cookieRejected', (rejection) => rejections.push(rejection));
  return { ...opened, rejections, session: await opened.pool.getSession() };
}

describe('session cookies', () => {
  it('keeps host-only cookies to their host and domain cookies across subdomains', async () => {
    const { session } = await openWithRejections();
    session.setCookiesFromResponse({
      url: 'https://shop.example.com/login',
      headers: { 'set-cookie': ['host=1; Path=/', 'wide=2; Domain=example.com; Path=/'] },
    });
    expect(session.getCookieString('https://shop.example.com/')).toBe('host=1; wide=2');
    expect(session.getCookieString('https://www.example.com/')).toBe('wide=2');
    expect(session.getCookieString('https://example.com/')).toBe('wide=2');
    expect(session.getCookieString('https://example.org/')).toBe('');
  });

  it('matches a www. domain cookie for the bare domain and its subdomains, but not a host-only www cookie', async () => {
    const { session } = await openWithRejections();
    session.setCookie('a=1; Domain=.example.com', 'https://www.example.com/');
    session.setCookie('b=2', 'https://www.example.com/');
    expect(session.getCookieString('https://example.com/')).toBe('a=1');
    expect(session.getCookieString('https://www.example.com/')).toBe('a=1; b=2');
    expect(session.getCookieString('https://api.example.com/')).toBe('a=1');
  });

  it('never throws from setCookiesFromResponse: bad cookies are reported, good ones kept', async () => {
    const { session, rejections } = await openWithRejections();
    session.setCookiesFromResponse({
      url: 'https://www.example.co.uk/',
      headers: new Headers([
        ['set-cookie', 'good=1; Path=/'],
        ['set-cookie', 'suffix=2; Domain=co.uk'],
        ['set-cookie', 'foreign=3; Domain=evil.com'],
        ['set-cookie', `huge=${'x'.repeat(10_000)}`],
        ['set-cookie', '=novalue-without-name'],
        ['set-cookie', 'also=4; Path=/'],
      ]),
    });
    expect(session.getCookieString('https://www.example.co.uk/')).toBe('good=1; also=4');
    expect(rejections.map((rejection) => rejection.cookieName)).toEqual(['suffix', 'foreign', 'huge', '']);
    expect(rejections.every((rejection) => rejection.sessionId === session.id)).toBe(true);
    expect(rejections.some((rejection) => rejection.reason.includes('x'.repeat(100)))).toBe(false);
  });

  it('throws a typed error from setCookie for a refused cookie', async () => {
    const { session } = await openWithRejections();
    expect(() => session.setCookie('a=1; Domain=com', 'https://example.com/')).toThrow(InvalidCookieError);
    expect(() => session.setCookie('x=1; Domain=other.org', 'https://example.com/')).toThrow(
      /Invalid cookie for https:\/\/example.com\//,
    );
  });

  it('reads and writes Playwright/Puppeteer cookies', async () => {
    const { session } = await openWithRejections();
    session.setCookies(
      [
        { name: 'wide', value: 'w', domain: '.example.com', path: '/', secure: true, sameSite: 'Lax' },
        {
          name: 'host',
          value: 'h',
          domain: 'www.example.com',
          path: '/',
          expires: 4_102_444_800,
          httpOnly: true,
        },
      ],
      'https://www.example.com/',
    );
    expect(session.getCookieString('https://api.example.com/')).toBe('wide=w');
    const cookies = session.getCookies('https://www.example.com/');
    expect(cookies).toContainEqual({
      name: 'wide',
      value: 'w',
      domain: '.example.com',
      path: '/',
      expires: -1,
      httpOnly: false,
      secure: true,
      sameSite: 'Lax',
    });
    expect(cookies).toContainEqual({
      name: 'host',
      value: 'h',
      domain: 'www.example.com',
      path: '/',
      expires: 4_102_444_800,
      httpOnly: true,
      secure: false,
    });
  });

  it('round-trips the jar through getState()', async () => {
    const { session } = await openWithRejections();
    session.setCookie('a=1; Domain=example.com; Path=/', 'https://www.example.com/');
    session.setCookie('b=2; Path=/app; Max-Age=3600', 'https://www.example.com/');
    const state = JSON.parse(JSON.stringify(session.getState()));
    const jar = restoreCookieJar(state.cookieJar, { maxCookiesPerSession: 10, maxCookiesPerDomain: 10 });
    expect(jar.getCookieStringSync('https://www.example.com/app/x')).toBe(
      session.getCookieString('https://www.example.com/app/x'),
    );
    expect(jar.getCookieStringSync('https://example.com/')).toBe('a=1');
  });

  it('caps cookies per domain and per session, evicting the oldest', async () => {
    const { session } = await openWithRejections({ maxCookiesPerDomain: 3, maxCookiesPerSession: 5 });
    for (let n = 1; n <= 4; n += 1) session.setCookie(`c${n}=${n}`, 'https://a.example/');
    expect(session.getCookieString('https://a.example/')).toBe('c2=2; c3=3; c4=4');
    session.setCookie('c4=updated', 'https://a.example/');
    expect(session.getCookieString('https://a.example/')).toBe('c2=2; c3=3; c4=updated');
    for (let n = 1; n <= 3; n += 1) session.setCookie(`d${n}=${n}`, 'https://b.example/');
    const total =
      session.getCookies('https://a.example/').length + session.getCookies('https://b.example/').length;
    expect(total).toBe(5);
    expect(session.getCookieString('https://a.example/')).toBe('c3=3; c4=updated');
  });

  it('counts every write to a jar and no read: a fleet skips sending a jar whose revision did not move', async () => {
    const { session } = await openWithRejections();
    const url = 'https://example.com/';
    const revision = () => cookieJarRevision(session.cookieJar) as number;
    const start = revision();
    expect(start).toEqual(expect.any(Number));
    session.setCookie('a=1', url);
    const put = revision();
    expect(put).toBeGreaterThan(start);
    // Reads touch only lastAccessed, which no copy of the jar carries.
    session.getCookieString(url);
    session.getCookies(url);
    expect(revision()).toBe(put);
    session.setCookie('a=2', url);
    const updated = revision();
    expect(updated).toBeGreaterThan(put);
    // An expired cookie goes, by the write that expires it or by the read that finds it expired.
    session.setCookie('a=3; Max-Age=0', url);
    expect(session.getCookieString(url)).toBe('');
    expect(revision()).toBeGreaterThan(updated);
    const beforeClear = revision();
    session.setCookie('b=1', url);
    await session.cookieJar.removeAllCookies();
    expect(revision()).toBeGreaterThan(beforeClear + 1);
  });

  it('keeps each session’s cookies to itself', async () => {
    const { pool: opened, session } = await openWithRejections({ maxPoolSize: 2 });
    const other = await opened.getSession();
    session.setCookie('who=first', 'https://example.com/');
    other.setCookie('who=second', 'https://example.com/');
    expect(session.getCookieString('https://example.com/')).toBe('who=first');
    expect(other.getCookieString('https://example.com/')).toBe('who=second');
  });
});
