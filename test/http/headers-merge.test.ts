import axios from 'axios';
import { fetch as undiciFetch, request as undiciRequest } from 'undici';
import { describe, expect, it } from 'vitest';
import { isClientDefaultUserAgent, mergeCookieHeader } from '../../src/http/headers.js';
import { type TestServer, useCleanup } from './helpers.js';

const { open, site } = useCleanup();

/** A site that echoes the request's user agent and cookie header, and a 302 that sets a cookie. */
async function echoSite(): Promise<TestServer> {
  return site({
    '/echo': (req, res) =>
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ ua: req.headers['user-agent'] ?? null, cookie: req.headers.cookie ?? null })),
    '/set-foo': (_req, res) =>
      res.writeHead(302, { location: '/echo', 'set-cookie': 'foo=fromRedirect; Path=/' }).end(),
  });
}

const PROFILE = { userAgent: 'Mozilla/5.0 (Profile)', headers: { 'accept-language': 'de' } };

describe('user agent on the dispatcher paths', () => {
  it("replaces undici fetch's default user agent with the profile's (session.dispatcher)", async () => {
    const server = await echoSite();
    const pool = await open({ headerProfiles: [PROFILE] });
    const session = await pool.getSession();
    const response = await undiciFetch(`${server.origin}/echo`, { dispatcher: session.dispatcher });
    expect(((await response.json()) as { ua: string }).ua).toBe(PROFILE.userAgent);
    // Without our dispatcher undici sends its own default, which is what we replace.
    const bare = await undiciFetch(`${server.origin}/echo`);
    expect(((await bare.json()) as { ua: string }).ua).toBe('undici');
  });

  it("replaces Node's global fetch default (`node`) on pool.dispatcher", async () => {
    const server = await echoSite();
    const pool = await open({ headerProfiles: [PROFILE] });
    const bare = await fetch(`${server.origin}/echo`);
    const nodeDefault = ((await bare.json()) as { ua: string }).ua;
    expect(isClientDefaultUserAgent(nodeDefault)).toBe(true);
    // Node's bundled fetch cannot take an undici 7 dispatcher, so its header is sent as it would send it.
    const response = await undiciRequest(`${server.origin}/echo`, {
      dispatcher: pool.dispatcher,
      headers: { 'user-agent': nodeDefault },
    });
    expect(((await response.body.json()) as { ua: string }).ua).toBe(PROFILE.userAgent);
  });

  it('keeps an explicit user agent on both dispatchers and in pool.fetch', async () => {
    const server = await echoSite();
    const pool = await open({ headerProfiles: [PROFILE] });
    const session = await pool.getSession();
    const headers = { 'User-Agent': 'my-crawler/2.0' };
    const viaSession = await undiciFetch(`${server.origin}/echo`, {
      dispatcher: session.dispatcher,
      headers,
    });
    expect(((await viaSession.json()) as { ua: string }).ua).toBe('my-crawler/2.0');
    const viaPool = await undiciFetch(`${server.origin}/echo`, { dispatcher: pool.dispatcher, headers });
    expect(((await viaPool.json()) as { ua: string }).ua).toBe('my-crawler/2.0');
    const fetched = await pool.fetch(`${server.origin}/echo`, { headers });
    expect(fetched.json<{ ua: string }>().ua).toBe('my-crawler/2.0');
  });

  it('leaves a default user agent alone when the profile has none', async () => {
    const server = await echoSite();
    const pool = await open({ headerProfiles: [{ headers: { 'accept-language': 'de' } }] });
    const session = await pool.getSession();
    const response = await undiciFetch(`${server.origin}/echo`, { dispatcher: session.dispatcher });
    expect(((await response.json()) as { ua: string }).ua).toBe('undici');
  });

  it('knows the defaults of the real clients, and nothing a browser sends', () => {
    expect(isClientDefaultUserAgent('undici')).toBe(true);
    expect(isClientDefaultUserAgent('node')).toBe(true);
    expect(isClientDefaultUserAgent(`axios/${axios.VERSION}`)).toBe(true);
    expect(isClientDefaultUserAgent('got (https://github.com/sindresorhus/got)')).toBe(true);
    expect(isClientDefaultUserAgent('node-fetch/1.0 (+https://github.com/bitinn/node-fetch)')).toBe(true);
    expect(isClientDefaultUserAgent('node-fetch')).toBe(true);
    expect(
      isClientDefaultUserAgent(
        'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
      ),
    ).toBe(false);
    expect(isClientDefaultUserAgent('undici-crawler')).toBe(false);
    expect(isClientDefaultUserAgent('my-node-bot')).toBe(false);
  });
});

describe("a request's own Cookie header merges with the jar", () => {
  const JAR_URL = (origin: string) => `${origin}/`;

  async function sessionWithJar(origin: string) {
    // One session, so that pool.dispatcher picks the one with the jar.
    const pool = await open({ maxPoolSize: 1 });
    const session = await pool.getSession();
    for (const cookie of ['coo=kie', 'foo=bar1', 'other=cookie1']) session.setCookie(cookie, JAR_URL(origin));
    return { pool, session };
  }

  it('through pool.fetch: the request wins per name, no name twice', async () => {
    const server = await echoSite();
    const { pool, session } = await sessionWithJar(server.origin);
    const response = await pool.fetch(`${server.origin}/echo`, {
      session,
      headers: { cookie: 'foo=bar2; baz=123' },
    });
    expect(response.json<{ cookie: string }>().cookie).toBe('foo=bar2; baz=123; coo=kie; other=cookie1');
  });

  it('through session.dispatcher (undici request) and pool.dispatcher (undici fetch)', async () => {
    const server = await echoSite();
    const { pool, session } = await sessionWithJar(server.origin);
    const viaSession = await undiciRequest(`${server.origin}/echo`, {
      dispatcher: session.dispatcher,
      headers: [
        ['cookie', 'foo=bar2'],
        ['Cookie', 'baz=123'],
      ],
    });
    expect(((await viaSession.body.json()) as { cookie: string }).cookie).toBe(
      'foo=bar2; baz=123; coo=kie; other=cookie1',
    );
    const viaPool = await undiciFetch(`${server.origin}/echo`, {
      dispatcher: pool.dispatcher,
      headers: { cookie: 'other=mine' },
    });
    expect(((await viaPool.json()) as { cookie: string }).cookie).toBe('other=mine; coo=kie; foo=bar1');
  });

  it("keeps the request's value over a cookie a redirect just set, on the next hop", async () => {
    const server = await echoSite();
    const { pool, session } = await sessionWithJar(server.origin);
    const response = await pool.fetch(`${server.origin}/set-foo`, {
      session,
      headers: { cookie: 'foo=bar2' },
    });
    expect(response.url).toBe(`${server.origin}/echo`);
    expect(response.json<{ cookie: string }>().cookie).toBe('foo=bar2; coo=kie; other=cookie1');
    // The jar stored the redirect's cookie all the same.
    expect(session.getCookies(server.origin).find((cookie) => cookie.name === 'foo')?.value).toBe(
      'fromRedirect',
    );
  });

  it('sends no Cookie header when neither the request nor the jar has one', async () => {
    const server = await echoSite();
    const pool = await open();
    const session = await pool.getSession();
    const response = await pool.fetch(`${server.origin}/echo`, { session, headers: { cookie: ' ; ' } });
    expect(response.json<{ cookie: string | null }>().cookie).toBeNull();
  });

  it('mergeCookieHeader: last value of a repeated request name wins; jar duplicates of other names stay', () => {
    expect(mergeCookieHeader('a=1; b=2; a=3', 'a=jar; c=4')).toBe('b=2; a=3; c=4');
    expect(mergeCookieHeader('', 'x=1; x=2')).toBe('x=1; x=2');
    expect(mergeCookieHeader('solo', 'a=1')).toBe('solo; a=1');
    expect(mergeCookieHeader('a=1', '')).toBe('a=1');
  });
});
