/**
 * Issue 13, finding 1 and 5 on the way in from storage: a saved cookie whose date is no date, a deadline past the
 * last instant a Date can hold, a public-suffix cookie, and a Crawlee import whose jars exceed the caps. Each is
 * refused with an error naming the field (the file moved aside, never overwritten) or stored safely and reported.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type CookieRejection,
  type CrawleeSessionPoolState,
  InvalidSavedSessionError,
  SessionPool,
  type SessionPoolOptions,
  type StateRestoredEvent,
} from '../../src/index.js';
import { decodeRecord } from '../../src/redis/records.js';
import { Resources, simulatedClock, T0 } from './helpers.js';

const resources = new Resources();
afterEach(() => resources.close());

async function filePool(dir: string, options: SessionPoolOptions<SessionPool> = {}) {
  const pool = resources.track(
    new SessionPool({
      store: 'file',
      persistStateDir: dir,
      persistStateKey: 'STATE',
      clock: simulatedClock(),
      ...options,
    }),
  );
  return { pool, file: join(dir, 'STATE.json') };
}

/** A saved state with one session holding one host-only and one domain cookie. */
async function savedDocument(dir: string) {
  const { pool, file } = await filePool(dir);
  await pool.initialize();
  const session = await pool.addSession({ id: 'keeper' });
  session.setCookie('sid=1; Path=/', 'https://shop.example.com/');
  session.setCookie('wide=2; Domain=example.com; Path=/', 'https://shop.example.com/');
  await pool.teardown();
  return { file, document: JSON.parse(await readFile(file, 'utf8')) };
}

async function expectRefused(dir: string, file: string, text: string, field: string) {
  await writeFile(file, text);
  const { pool } = await filePool(dir);
  const error = (await pool.initialize().catch((caught: unknown) => caught)) as InvalidSavedSessionError;
  expect(error).toBeInstanceOf(InvalidSavedSessionError);
  expect(error).toMatchObject({ sessionId: 'keeper', field, code: 'ERR_INVALID_SAVED_SESSION' });
  // The bad content is moved aside byte for byte, and no new state is written over it.
  expect(await readFile(error.movedTo!, 'utf8')).toBe(text);
  expect((await readdir(dir)).filter((name) => name === 'STATE.json')).toEqual([]);
}

describe('state documents with impossible dates', () => {
  it.each([
    ['expires', 'garbage'],
    ['creation', 'garbage'],
    ['lastAccessed', 'not a date'],
    ['expires', '+999999-01-01T00:00:00.000Z'],
  ])('refuses a saved cookie whose %s is %j, naming the cookie and the field', async (field, value) => {
    const dir = await resources.dir();
    const { file, document } = await savedDocument(dir);
    document.sessions[0].cookieJar.cookies[1][field] = value;
    await expectRefused(dir, file, JSON.stringify(document), `cookieJar.cookies[1].${field}`);
  });

  it.each([
    ['expiresAt', 1e300],
    ['createdAt', 8.64e15 + 1],
    ['blockedUntil', Number.MAX_SAFE_INTEGER],
  ])('refuses %s = %d, a deadline no Date can hold (getState would throw)', async (field, value) => {
    const dir = await resources.dir();
    const { file, document } = await savedDocument(dir);
    document.sessions[0][field] = value;
    await expectRefused(dir, file, JSON.stringify(document), field);
  });

  it('with startFresh, begins empty and keeps the refused file', async () => {
    const dir = await resources.dir();
    const { file, document } = await savedDocument(dir);
    document.sessions[0].cookieJar.cookies[0].expires = 'garbage';
    const text = JSON.stringify(document);
    await writeFile(file, text);
    const { pool } = await filePool(dir, { startFresh: true });
    const restored: StateRestoredEvent[] = [];
    pool.on('stateRestored', (event) => restored.push(event));
    await pool.initialize();
    expect(pool.sessionsCount).toBe(0);
    expect(restored[0]?.discarded).toMatchObject({ field: 'cookieJar.cookies[0].expires' });
    expect(await readFile(restored[0]!.movedTo!, 'utf8')).toBe(text);
  });
});

describe('public-suffix cookies in saved state', () => {
  it('leaves a saved cookie for a public suffix out of the restored jar and reports it', async () => {
    const dir = await resources.dir();
    const { file, document } = await savedDocument(dir);
    const cookies = document.sessions[0].cookieJar.cookies;
    cookies.push({ ...cookies[1], key: 'tracker', value: 'everywhere', domain: 'com' });
    cookies.push({ ...cookies[1], key: 'uk', value: 'x', domain: 'co.uk' });
    await writeFile(file, JSON.stringify(document));

    const { pool } = await filePool(dir);
    const restored: StateRestoredEvent[] = [];
    pool.on('stateRestored', (event) => restored.push(event));
    await pool.initialize();
    const session = (await pool.getSession('keeper'))!;
    expect(session.getCookieString('https://anything.com/')).toBe('');
    expect(session.getCookieString('https://bbc.co.uk/')).toBe('');
    expect(session.getCookieString('https://shop.example.com/')).toBe('sid=1; wide=2');
    expect(restored[0]?.cookiesDropped).toEqual({ keeper: { count: 2, reasons: { publicSuffix: 2 } } });
  });
});

describe('getState and checkpoints never throw on a cookie', () => {
  it('drops and reports a stored cookie whose date was broken in place, instead of crashing the process', async () => {
    const dir = await resources.dir();
    const { pool, file } = await filePool(dir);
    const rejections: CookieRejection[] = [];
    pool.on('cookieRejected', (rejection) => rejections.push(rejection));
    await pool.initialize();
    const session = await pool.addSession({ id: 'keeper' });
    session.setCookie('good=1; Path=/', 'https://example.com/');
    session.setCookie('bad=2; Path=/', 'https://example.com/');
    // tough-cookie hands out the stored objects themselves: a caller can break one after it was checked.
    const stored = session.cookieJar.getCookiesSync('https://example.com/').find((c) => c.key === 'bad')!;
    stored.expires = new Date(Number.NaN);

    const state = session.getState();
    expect(state.cookieJar.cookies.map((cookie) => cookie.key)).toEqual(['good']);
    expect(rejections).toEqual([
      expect.objectContaining({ sessionId: 'keeper', cookieName: 'bad', reason: 'expires not a valid date' }),
    ]);
    await pool.persistState();
    const saved = JSON.parse(await readFile(file, 'utf8'));
    expect(saved.sessions[0].cookieJar.cookies.map((cookie: { key: string }) => cookie.key)).toEqual([
      'good',
    ]);
  });
});

describe('Crawlee import reports what it dropped', () => {
  it('lists, per session, the cookies the caps evicted and the cookies it refused', async () => {
    const pool = await resources.pool({ clock: simulatedClock(), maxCookiesPerSession: 100 });
    const cookies = [];
    for (let index = 0; index < 300; index += 1) {
      cookies.push({
        key: `c${index}`,
        value: 'v',
        domain: `site${index % 3}.example`,
        path: '/',
        hostOnly: true,
        creation: new Date(T0 - 100_000 + index).toISOString(),
      });
    }
    cookies.push({ key: 'suffix', value: 'v', domain: 'github.io', path: '/', hostOnly: false });
    const iso = (millis: number) => new Date(millis).toISOString();
    const state: CrawleeSessionPoolState = {
      sessions: [
        {
          id: 'session_big',
          cookieJar: { cookies },
          userData: {},
          errorScore: 0,
          maxErrorScore: 3,
          errorScoreDecrement: 0.5,
          createdAt: iso(T0 - 60_000),
          expiresAt: iso(T0 + 3_000_000),
          usageCount: 0,
          maxUsageCount: 50,
        },
        {
          id: 'session_small',
          cookieJar: { cookies: cookies.slice(0, 2) },
          userData: {},
          errorScore: 0,
          maxErrorScore: 3,
          errorScoreDecrement: 0.5,
          createdAt: iso(T0 - 60_000),
          expiresAt: iso(T0 + 3_000_000),
          usageCount: 0,
        },
      ],
    };
    const result = await pool.importCrawleeState(state);
    expect(result.imported.sort()).toEqual(['session_big', 'session_small']);
    expect(result.cookiesDropped).toEqual({
      session_big: { count: 201, reasons: { maxCookiesPerSession: 200, publicSuffix: 1 } },
    });
    // The newest cookies are the ones kept.
    const big = (await pool.getSession('session_big'))!;
    expect(big.getCookieString('http://site2.example/')).toContain('c299=v');
    expect(big.getCookieString('http://site0.example/')).not.toContain('c0=v');
    expect(big.getState().cookieJar.cookies).toHaveLength(100);
  });
});

describe('Redis records are checked like saved files', () => {
  const context = {
    id: 'r1',
    createdAt: T0,
    expiresAt: T0 + 60_000,
    maxUsageCount: 50,
    maxErrorScore: 3,
    errorScoreDecrement: 0.5,
    blockedStatusCodes: [403],
    userData: {},
  };
  const hash = (overrides: Record<string, string> = {}) => ({
    rec: JSON.stringify(context),
    u: '0',
    e: '0',
    ...overrides,
  });
  const cookie = (fields: Record<string, unknown>) =>
    new Map([
      [
        'example.com;/;a',
        JSON.stringify({ key: 'a', value: 'b', domain: 'example.com', path: '/', ...fields }),
      ],
    ]);

  it('accepts a good record', () => {
    const record = decodeRecord('r1', hash(), cookie({}), 'redis:test', 0);
    expect(record).toMatchObject({ id: 'r1', usageCount: 0, cookieJar: { cookies: [{ key: 'a' }] } });
  });

  it.each([
    [
      'a cookie whose expiry is not a date',
      hash(),
      cookie({ expires: 'garbage' }),
      'cookieJar.cookies[0].expires',
    ],
    [
      'a cookie whose creation is not a date',
      hash(),
      cookie({ creation: 'soon' }),
      'cookieJar.cookies[0].creation',
    ],
    ['a context that is not an object', hash({ rec: '[1,2]' }), new Map(), 'rec'],
    ['an empty usage counter', hash({ u: '' }), new Map(), 'usageCount'],
    [
      'a deadline no Date can hold',
      hash({ rec: JSON.stringify({ ...context, expiresAt: 1e300 }) }),
      new Map(),
      'expiresAt',
    ],
  ])('refuses %s with InvalidSavedSessionError naming the field', (_what, fields, cookies, field) => {
    expect(() => decodeRecord('r1', fields, cookies as Map<string, string>, 'redis:test', 0)).toThrow(
      expect.objectContaining({ name: 'InvalidSavedSessionError', sessionId: 'r1', field }),
    );
  });
});
