import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidCookieError, InvalidOptionError } from '../../src/errors.js';
import type { Session } from '../../src/session.js';
import { exportStorageState, importStorageState, type StorageStateCookie } from '../../src/storage-state.js';
import { launchChromium } from './browser.js';
import { useIntegrationCleanup } from './helpers.js';

const { pool } = useIntegrationCleanup();

const IN_A_YEAR = Math.floor(Date.now() / 1000) + 365 * 24 * 3600;
const EXPIRY = new Date(IN_A_YEAR * 1000).toUTCString();

/** A jar with every kind of cookie `getCookies(url)` alone would miss some of. */
function fillJar(session: Session): void {
  const set = (cookie: string, url: string) => session.setCookie(cookie, url);
  set('host=1; Path=/', 'https://www.example.com/');
  set(`domain=2; Domain=example.com; Path=/; Expires=${EXPIRY}`, 'https://www.example.com/');
  set('deep=3; Path=/account/settings; HttpOnly', 'https://www.example.com/account/settings');
  set('strict=4; Path=/; SameSite=Strict; Secure', 'https://shop.example.com/');
  set('none=5; Path=/; SameSite=None; Secure; Max-Age=3600', 'https://api.example.com/');
  set('lax=6; Path=/; SameSite=Lax', 'http://other.test/');
}

const byName = (cookies: readonly StorageStateCookie[]) =>
  Object.fromEntries(cookies.map((cookie) => [cookie.name, cookie]));

describe('whole-jar export and import in Playwright storageState format', () => {
  it('exports every cookie of the jar with Playwright conventions', async () => {
    const session = await (await pool()).getSession();
    fillJar(session);
    const state = session.exportStorageState();
    expect(state.origins).toEqual([]);
    const cookies = byName(state.cookies);
    expect(Object.keys(cookies).sort()).toEqual(['deep', 'domain', 'host', 'lax', 'none', 'strict']);
    expect(cookies.host).toMatchObject({
      domain: 'www.example.com',
      path: '/',
      expires: -1,
      sameSite: 'Lax',
    });
    expect(cookies.domain).toMatchObject({ domain: '.example.com', expires: IN_A_YEAR });
    expect(cookies.deep).toMatchObject({ path: '/account/settings', httpOnly: true, secure: false });
    expect(cookies.strict).toMatchObject({ domain: 'shop.example.com', sameSite: 'Strict', secure: true });
    const none = cookies.none as StorageStateCookie;
    expect(none.sameSite).toBe('None');
    expect(Number.isInteger(none.expires)).toBe(true);
    expect(Math.abs(none.expires - (Date.now() / 1000 + 3600))).toBeLessThan(5);
    // Only some of these would be sent to one URL.
    expect(session.getCookies('https://www.example.com/').map((cookie) => cookie.name)).toEqual([
      'host',
      'domain',
    ]);
  });

  it('round-trips exactly through import into another session', async () => {
    const sessions = await pool({ maxPoolSize: 2 });
    const [source, target] = [await sessions.addSession(), await sessions.addSession()];
    fillJar(source);
    const state = source.exportStorageState();
    expect(target.importStorageState(state)).toBe(6);
    expect(target.exportStorageState()).toEqual(state);
    expect(target.getCookieString('https://www.example.com/account/settings/x')).toBe(
      'deep=3; host=1; domain=2',
    );
    // JSON text works the same.
    const third = importStorageState(source.cookieJar, JSON.stringify(state));
    expect(third).toBe(6);
  });

  it('round-trips exactly through real Chromium: session → addCookies → cookies() → session', async () => {
    const sessions = await pool({ maxPoolSize: 2 });
    const [source, target] = [await sessions.addSession(), await sessions.addSession()];
    fillJar(source);
    const context = await browser.newContext();
    try {
      await context.addCookies(source.exportStorageState().cookies);
      const fromBrowser = await context.cookies();
      expect(fromBrowser).toHaveLength(6);
      target.importStorageState({ cookies: fromBrowser as StorageStateCookie[] });
    } finally {
      await context.close();
    }
    const sort = (cookies: StorageStateCookie[]) => [...cookies].sort((a, b) => a.name.localeCompare(b.name));
    expect(sort(target.exportStorageState().cookies)).toEqual(sort(source.exportStorageState().cookies));
  });

  it('skips expired cookies on export and on import', async () => {
    const session = await (await pool()).getSession();
    session.setCookie('short=1; Max-Age=60', 'http://example.com/');
    expect(exportStorageState(session.cookieJar, { now: Date.now() + 120_000 }).cookies).toEqual([]);
    const written = session.importStorageState({
      cookies: [
        { ...cookie('old'), expires: Math.floor(Date.now() / 1000) - 10 },
        { ...cookie('fresh'), expires: IN_A_YEAR },
      ],
    });
    expect(written).toBe(1);
    expect(session.getCookieString('http://example.com/')).toBe('short=1; fresh=v');
  });

  it('rejects a bad document with a typed error naming the field, and writes nothing', async () => {
    const session = await (await pool()).getSession();
    session.setCookie('kept=1', 'http://example.com/');
    const before = session.exportStorageState();
    const attempt = (cookies: unknown[]) => () =>
      session.importStorageState({ cookies: cookies as StorageStateCookie[] });
    expect(attempt([cookie('a'), { ...cookie('b'), sameSite: 'lax' }])).toThrow(InvalidOptionError);
    expect(attempt([cookie('a'), { ...cookie('b'), sameSite: 'lax' }])).toThrow(
      /storageState\.cookies\[1\]\.sameSite/,
    );
    expect(attempt([{ ...cookie('a'), name: 'x;y' }])).toThrow(/cookies\[0\]\.name/);
    expect(attempt([{ ...cookie('a'), value: 'v\r\nSet-Cookie: evil=1' }])).toThrow(/cookies\[0\]\.value/);
    expect(attempt([{ ...cookie('a'), expires: '2030' }])).toThrow(/cookies\[0\]\.expires/);
    expect(attempt([{ ...cookie('a'), expires: 1e20 }])).toThrow(/cookies\[0\]\.expires/);
    expect(attempt([{ ...cookie('a'), domain: 'a/b' }])).toThrow(/cookies\[0\]\.domain/);
    expect(attempt([{ ...cookie('a'), path: 'relative' }])).toThrow(/cookies\[0\]\.path/);
    expect(attempt([cookie('a'), null])).toThrow(/cookies\[1\]/);
    expect(() => session.importStorageState('{not json')).toThrow(/storageState/);
    expect(() => session.importStorageState({} as never)).toThrow(/"cookies" array/);
    // A public suffix is refused by the jar's rules: nothing of the document is written.
    expect(attempt([cookie('a'), { ...cookie('b'), domain: '.com' }])).toThrow(InvalidCookieError);
    expect(session.exportStorageState()).toEqual(before);
  });
});

function cookie(name: string): StorageStateCookie {
  return {
    name,
    value: 'v',
    domain: 'example.com',
    path: '/',
    expires: -1,
    httpOnly: false,
    secure: false,
    sameSite: 'Lax',
  };
}

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});
