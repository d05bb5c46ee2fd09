/**
 * The anti-bot cookie check that answers `302` + `Set-Cookie` with `Location` set to the very URL requested:
 * browsers, got-scraping and undici's own `fetch` follow it, and so must `pool.fetch`, `session.dispatcher` and
 * `pool.dispatcher`, on pools of many sessions, while a real loop stays bounded by `maxRedirections`.
 */
import { request, fetch as undiciFetch } from 'undici';
import { describe, expect, it } from 'vitest';
import { TooManyRedirectsError } from '../../src/index.js';
import { type Route, useCleanup } from './helpers.js';

const { open, site } = useCleanup();

const cookieCheck: Route = (req, res) => {
  if (req.headers.cookie?.includes('passed=1')) {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('welcome');
    return;
  }
  res.writeHead(302, { location: req.url ?? '/', 'set-cookie': 'passed=1; Path=/' }).end();
};
const loop: Route = (req, res) => {
  res.writeHead(302, { location: req.url ?? '/' }).end();
};

async function pooled(maxRedirections?: number) {
  const server = await site({ '/check': cookieCheck, '/loop': loop });
  const pool = await open({ maxPoolSize: 5, ...(maxRedirections === undefined ? {} : { maxRedirections }) });
  await pool.addSessions(5);
  return { server, pool };
}

describe('same-URL cookie-check redirect', () => {
  it('passes in pool.fetch on a pool of five, the cookie kept by the session that got it', async () => {
    const { server, pool } = await pooled();
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => pool.fetch(`${server.origin}/check?x=1`)),
    );
    for (const response of responses) {
      expect(response.statusCode).toBe(200);
      expect(response.text()).toBe('welcome');
      expect(response.url).toBe(`${server.origin}/check?x=1`);
      expect(response.session.getCookieString(server.origin)).toBe('passed=1');
      expect(response.attempts).toBe(1);
    }
  });

  it('passes through session.dispatcher (undici request) and pool.dispatcher (undici fetch and request)', async () => {
    const { server, pool } = await pooled();
    const session = await pool.getSession();
    const viaSession = await request(`${server.origin}/check`, { dispatcher: session.dispatcher });
    expect([viaSession.statusCode, await viaSession.body.text()]).toEqual([200, 'welcome']);

    const viaFetch = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const response = await undiciFetch(`${server.origin}/check`, { dispatcher: pool.dispatcher });
        return [response.status, await response.text()];
      }),
    );
    expect(viaFetch).toEqual(Array.from({ length: 6 }, () => [200, 'welcome']));
    const viaRequest = await request(`${server.origin}/check`, { dispatcher: pool.dispatcher });
    expect([viaRequest.statusCode, await viaRequest.body.text()]).toEqual([200, 'welcome']);
  });

  it('still stops a real loop at maxRedirections, with a typed error from pool.fetch', async () => {
    const { server, pool } = await pooled(3);
    const error = (await pool
      .fetch(`${server.origin}/loop`, { maxSessionRotations: 0 })
      .catch((e: unknown) => e)) as { cause?: unknown };
    expect(error.cause).toBeInstanceOf(TooManyRedirectsError);
    // 1 request + 3 redirects followed, then the 4th redirect is refused.
    expect(server.log.filter((entry) => entry.path === '/loop')).toHaveLength(4);
    const viaSession = await request(`${server.origin}/loop`, {
      dispatcher: (await pool.getSession()).dispatcher,
    });
    expect(viaSession.statusCode).toBe(302);
    await viaSession.body.dump();
  });

  it('drops credentials on a hop to another origin and turns a 303 into a GET without its body', async () => {
    const seen: { method?: string; authorization?: string; cookie?: string; body: string }[] = [];
    const echo: Route = (req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on('end', () => {
        seen.push({
          method: req.method,
          authorization: req.headers.authorization,
          cookie: req.headers.cookie,
          body,
        });
        res.writeHead(200).end('done');
      });
    };
    const other = await site({ '/echo': echo }, 'localhost');
    const server = await site({
      '/away': (_req, res) => res.writeHead(302, { location: `${other.origin}/echo` }).end(),
      '/see-other': (_req, res) => res.writeHead(303, { location: '/echo' }).end(),
      '/echo': echo,
    });
    const pool = await open({ maxPoolSize: 1 });
    const session = await pool.getSession();
    const away = await request(`${server.origin}/away`, {
      dispatcher: session.dispatcher,
      headers: { authorization: 'Bearer secret', cookie: 'mine=1' },
    });
    await away.body.dump();
    const posted = await request(`${server.origin}/see-other`, {
      dispatcher: session.dispatcher,
      method: 'POST',
      headers: { 'content-type': 'text/plain', authorization: 'Bearer same-origin' },
      body: 'payload',
    });
    await posted.body.dump();
    expect(seen).toEqual([
      { method: 'GET', authorization: undefined, cookie: undefined, body: '' },
      { method: 'GET', authorization: 'Bearer same-origin', cookie: undefined, body: '' },
    ]);
  });
});
