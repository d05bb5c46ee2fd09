import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { echoCookies, useCleanup } from './helpers.js';

const { open, site } = useCleanup();

describe('cookie interceptor', () => {
  it('stores cookies set on a 302 and sends them on the next hop and later requests', async () => {
    const server = await site({
      '/login': (_req, res) =>
        res.writeHead(302, { location: '/home', 'set-cookie': 'sid=abc; Path=/' }).end(),
      '/home': echoCookies,
    });
    const pool = await open({ maxPoolSize: 1 });
    const response = await pool.fetch(`${server.origin}/login`);
    expect(response.statusCode).toBe(200);
    expect(response.url).toBe(`${server.origin}/home`);
    expect(response.text()).toBe('sid=abc');
    expect(response.session.getCookieString(server.origin)).toBe('sid=abc');
    const again = await pool.fetch(`${server.origin}/home`);
    expect(again.text()).toBe('sid=abc');
  });

  it('keeps cookies per origin across a cross-origin redirect and never leaks them to the other host', async () => {
    const other = await site(
      { '/landing': (_req, res) => res.writeHead(200, { 'set-cookie': 'b=2' }).end('ok') },
      'localhost',
    );
    const first = await site({
      '/go': (_req, res) =>
        res.writeHead(302, { location: `${other.origin}/landing`, 'set-cookie': 'a=1' }).end(),
      '/echo': echoCookies,
    });
    const pool = await open({ maxPoolSize: 1 });
    const response = await pool.fetch(`${first.origin}/go`, { headers: { cookie: 'mine=0' } });
    expect(response.url).toBe(`${other.origin}/landing`);
    // The caller's own Cookie header is stripped on the cross-origin hop, and 127.0.0.1's cookie stays home.
    expect(other.log[0]?.cookie).toBeUndefined();
    const session = response.session;
    expect(session.getCookieString(first.origin)).toBe('a=1');
    expect(session.getCookieString(other.origin)).toBe('b=2');
    const back = await pool.fetch(`${first.origin}/echo`);
    expect(back.text()).toBe('a=1');
  });

  it('accepts every header shape undici accepts and never mutates the caller’s headers', async () => {
    const server = await site({
      '/set': (_req, res) => res.writeHead(200, { 'set-cookie': 'jar=1' }).end(),
      '/echo': (req, res) =>
        res.writeHead(200).end(JSON.stringify({ cookie: req.headers.cookie, x: req.headers['x-a'] })),
    });
    const pool = await open({ maxPoolSize: 1 });
    const session = await pool.getSession();
    await pool.fetch(`${server.origin}/set`, { session });
    const objectHeaders = { 'x-a': '1', cookie: 'own=1' };
    const flat = ['x-a', '1', 'cookie', 'own=1'];
    const tuples: [string, string][] = [
      ['x-a', '1'],
      ['cookie', 'own=1'],
    ];
    const iterable = new Map<string, string>(tuples);
    for (const headers of [objectHeaders, flat, tuples, iterable, new Headers(tuples)]) {
      const before = JSON.stringify(
        headers instanceof Map || headers instanceof Headers ? [...headers] : headers,
      );
      const body = (await pool.fetch(`${server.origin}/echo`, { session, headers })).json<{
        cookie: string;
        x: string;
      }>();
      expect(body).toEqual({ cookie: 'own=1; jar=1', x: '1' });
      const after = JSON.stringify(
        headers instanceof Map || headers instanceof Headers ? [...headers] : headers,
      );
      expect(after).toBe(before);
    }
  });

  it('keeps the jars of 50 concurrent sessions apart', async () => {
    let next = 0;
    const server = await site({
      '/whoami': (req, res, url) => {
        const user = url.searchParams.get('u');
        next += 1;
        // The second request of each user must carry only that user's cookie.
        res.writeHead(200, { 'set-cookie': `user=${user}; Path=/` }).end(req.headers.cookie ?? '');
      },
    });
    const pool = await open({ maxPoolSize: 50 });
    const sessions = await Promise.all(Array.from({ length: 50 }, () => pool.addSession()));
    await Promise.all(
      sessions.map((session, i) => pool.fetch(`${server.origin}/whoami?u=${i}`, { session })),
    );
    const second = await Promise.all(
      sessions.map((session, i) => pool.fetch(`${server.origin}/whoami?u=${i}`, { session })),
    );
    expect(next).toBe(100);
    second.forEach((response, i) => {
      expect(response.text()).toBe(`user=${i}`);
      expect(response.session).toBe(sessions[i]);
    });
  });

  it('skips malformed and oversized Set-Cookie values, keeps the good ones, and reports the rest', async () => {
    const server = await site({
      '/bad': (_req, res) => {
        res.setHeader('set-cookie', [
          'good=1',
          `big=${'x'.repeat(9000)}`,
          '=;;;',
          'evil=1; Domain=example.com',
        ]);
        res.writeHead(200).end('ok');
      },
    });
    const pool = await open({ maxPoolSize: 1 });
    const rejected: string[] = [];
    pool.on('cookieRejected', (rejection) => rejected.push(rejection.cookieName));
    const response = await pool.fetch(`${server.origin}/bad`);
    expect(response.statusCode).toBe(200);
    expect(response.session.getCookieString(server.origin)).toBe('good=1');
    expect(rejected).toContain('big');
    expect(rejected).toContain('evil');
  });

  it('session.dispatcher sends the session’s cookies through undici request and fetch', async () => {
    const server = await site({
      '/set': (_req, res) => res.writeHead(302, { location: '/echo', 'set-cookie': 'via=dispatcher' }).end(),
      '/echo': echoCookies,
    });
    const pool = await open({ maxPoolSize: 2 });
    const session = await pool.getSession();
    const viaRequest = await request(`${server.origin}/set`, { dispatcher: session.dispatcher });
    expect(await viaRequest.body.text()).toBe('via=dispatcher');
    const viaFetch = await fetchWith(`${server.origin}/echo`, session.dispatcher);
    expect(viaFetch).toBe('via=dispatcher');
    const other = await pool.addSession();
    expect(await fetchWith(`${server.origin}/echo`, other.dispatcher)).toBe('');
  });
});

async function fetchWith(url: string, dispatcher: import('undici').Dispatcher): Promise<string> {
  const { fetch } = await import('undici');
  const response = await fetch(url, { dispatcher });
  return response.text();
}
