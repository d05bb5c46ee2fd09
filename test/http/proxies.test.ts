import { describe, expect, it } from 'vitest';
import {
  InvalidOptionError,
  RequestFailedError,
  SessionPool,
  SessionRotationsExhaustedError,
} from '../../src/index.js';
import {
  closedPort,
  startProxy,
  startSite,
  startSocks5Proxy,
  type TestProxy,
  type TestServer,
  useCleanup,
} from './helpers.js';

const { open, defer } = useCleanup();

async function proxy(credentials?: { user: string; pass: string }): Promise<TestProxy> {
  const started = await startProxy(credentials);
  defer(() => started.close());
  return started;
}

async function uaSite(): Promise<TestServer> {
  const server = await startSite({
    '/ua': (req, res) =>
      res
        .writeHead(200)
        .end(JSON.stringify({ ua: req.headers['user-agent'], lang: req.headers['accept-language'] })),
  });
  defer(() => server.close());
  return server;
}

const SECRET = 's3cr3t-pa55';

describe('proxies and header profiles', () => {
  it('assigns proxies and profiles round-robin and keeps each for the session’s life', async () => {
    const site = await uaSite();
    const [p1, p2] = [await proxy(), await proxy()];
    const pool = await open({
      maxPoolSize: 4,
      proxyUrls: [p1.url, p2.url],
      headerProfiles: [{ userAgent: 'UA-A', headers: { 'accept-language': 'de' } }, { userAgent: 'UA-B' }],
    });
    const sessions = await Promise.all([0, 1, 2, 3].map(() => pool.addSession()));
    expect(sessions.map((s) => s.proxyUrl)).toEqual([`${p1.url}/`, `${p2.url}/`, `${p1.url}/`, `${p2.url}/`]);
    expect(sessions.map((s) => s.headerProfile?.userAgent)).toEqual(['UA-A', 'UA-B', 'UA-A', 'UA-B']);
    for (let round = 0; round < 3; round += 1) {
      for (const [i, session] of sessions.entries()) {
        const body = (await pool.fetch(`${site.origin}/ua`, { session })).json<{
          ua: string;
          lang?: string;
        }>();
        expect(body.ua).toBe(i % 2 === 0 ? 'UA-A' : 'UA-B');
        expect(body.lang).toBe(i % 2 === 0 ? 'de' : undefined);
      }
    }
    // Each proxy carried exactly its two sessions' requests (CONNECT tunnels are reused per session).
    expect(p1.log.length).toBeGreaterThan(0);
    expect(p2.log.length).toBeGreaterThan(0);
    expect(p1.log.length + p2.log.length).toBeLessThanOrEqual(12);
    // A request's own user-agent wins over the profile's.
    const own = await pool.fetch(`${site.origin}/ua`, {
      session: sessions[0],
      headers: { 'User-Agent': 'mine' },
    });
    expect(own.json<{ ua: string }>().ua).toBe('mine');
  });

  it('gives a retired session’s proxy to the next new session', async () => {
    const [p1, p2] = [await proxy(), await proxy()];
    const pool = await open({ maxPoolSize: 3, proxyUrls: [p1.url, p2.url] });
    const a = await pool.addSession();
    const b = await pool.addSession();
    expect([a.proxyUrl, b.proxyUrl]).toEqual([`${p1.url}/`, `${p2.url}/`]);
    a.retire();
    const c = await pool.addSession();
    expect(c.proxyUrl).toBe(`${p1.url}/`);
  });

  it('sends proxy credentials to the proxy and never shows them in state, events, errors or inspection', async () => {
    const site = await uaSite();
    const good = await proxy({ user: 'bob', pass: SECRET });
    const deadPort = await closedPort();
    const inspected: string[] = [];
    const retiredJson: string[] = [];
    const pool = await open({
      maxPoolSize: 2,
      maxSessionRotations: 0,
      proxyUrls: [
        `http://bob:${SECRET}@127.0.0.1:${good.port}`,
        `http://bob:${SECRET}@127.0.0.1:${deadPort}`,
      ],
      inspect: (event) => inspected.push(JSON.stringify((event as { snapshot?: unknown }).snapshot ?? {})),
    });
    pool.on('sessionRetired', (event) => retiredJson.push(JSON.stringify(event.state)));
    const viaGood = await pool.addSession();
    const viaDead = await pool.addSession();
    const response = await pool.fetch(`${site.origin}/ua`, { session: viaGood });
    expect(response.statusCode).toBe(200);
    expect(good.log[0]?.auth).toBe(`Basic ${Buffer.from(`bob:${SECRET}`).toString('base64')}`);
    expect(viaGood.proxyUrl).toBe(`http://bob:***@127.0.0.1:${good.port}/`);
    // The one deliberate way to the real URL, for handing the proxy to another client.
    expect(viaGood.revealProxyUrl()).toBe(`http://bob:${SECRET}@127.0.0.1:${good.port}/`);

    const error = (await pool
      .fetch(`${site.origin}/ua`, { session: viaDead })
      .catch((e: unknown) => e)) as SessionRotationsExhaustedError;
    expect(error).toBeInstanceOf(SessionRotationsExhaustedError);
    expect(error.cause).toBeInstanceOf(RequestFailedError);
    expect(viaDead.errorScore).toBe(1);
    viaDead.retire();

    const everything = [
      JSON.stringify(pool.getState()),
      String(error.message),
      String((error.cause as Error).message),
      String(((error.cause as Error).cause as Error | undefined)?.message),
      JSON.stringify(error.attempts),
      ...inspected,
      ...retiredJson,
    ].join('\n');
    expect(everything).not.toContain(SECRET);
  });

  it('tunnels through a socks5:// proxy with credentials, keeping the session’s cookies and hiding the password', async () => {
    const site = await startSite({
      '/login': (_req, res) => res.writeHead(200, { 'set-cookie': 'sid=via-socks; Path=/' }).end('ok'),
      '/whoami': (req, res) => res.writeHead(200).end(req.headers.cookie ?? ''),
    });
    defer(() => site.close());
    const socks = await startSocks5Proxy({ user: 'crawler', pass: SECRET });
    defer(() => socks.close());
    const pool = await open({ maxPoolSize: 1, proxyUrls: [socks.url] });

    await pool.fetch(`${site.origin}/login`);
    const page = await pool.fetch(`${site.origin}/whoami`);
    expect(page.text()).toBe('sid=via-socks');
    expect(socks.log.length).toBeGreaterThan(0);
    expect(
      socks.log.every(
        (entry) => entry.auth === `crawler:${SECRET}` && entry.target === new URL(site.origin).host,
      ),
    ).toBe(true);
    expect(page.session.proxyUrl).not.toContain(SECRET);
    expect(JSON.stringify(pool.getState())).not.toContain(SECRET);
  });

  it('marks a session bad when a socks5 proxy refuses its credentials', async () => {
    const site = await startSite({ '/': (_req, res) => res.writeHead(200).end('ok') });
    defer(() => site.close());
    const socks = await startSocks5Proxy({ user: 'crawler', pass: 'right' });
    defer(() => socks.close());
    const pool = await open({
      maxPoolSize: 1,
      proxyUrls: [socks.url.replace(':right@', ':wrong@')],
      maxSessionRotations: 0,
    });
    const session = await pool.getSession();
    await expect(pool.fetch(`${site.origin}/`)).rejects.toBeInstanceOf(SessionRotationsExhaustedError);
    expect(session.errorScore).toBe(1);
    expect(socks.log).toHaveLength(0);
  });

  it('marks a session bad when its proxy refuses authentication', async () => {
    const site = await uaSite();
    const strict = await proxy({ user: 'bob', pass: SECRET });
    const pool = await open({
      maxPoolSize: 1,
      maxSessionRotations: 0,
      proxyUrls: [`http://bob:wrong@127.0.0.1:${strict.port}`],
    });
    const error = (await pool
      .fetch(`${site.origin}/ua`)
      .catch((e: unknown) => e)) as SessionRotationsExhaustedError;
    expect(error).toBeInstanceOf(SessionRotationsExhaustedError);
    expect(error.attempts[0]?.outcome).toBe('bad');
    expect([...pool.sessions()][0]?.errorScore).toBe(1);
  });

  it('rejects unsupported proxy schemes and malformed profiles with the field named', () => {
    expect(() => new SessionPool({ proxyUrls: ['ftp://user:pw@proxy:21'] })).toThrow(InvalidOptionError);
    let error: unknown;
    try {
      new SessionPool({ proxyUrls: ['http://ok:1', `ftp://user:${SECRET}@proxy:21`] });
    } catch (caught) {
      error = caught;
    }
    expect((error as InvalidOptionError).field).toBe('proxyUrls[1]');
    expect((error as Error).message).not.toContain(SECRET);
    expect(() => new SessionPool({ proxyUrls: ['not a url'] })).toThrow(/proxyUrls\[0\]/);
    expect(() => new SessionPool({ headerProfiles: [{ userAgent: 'a\r\nb' }] })).toThrow(
      /headerProfiles\[0\]\.userAgent/,
    );
    expect(() => new SessionPool({ headerProfiles: [{ headers: { 'bad name': 'x' } }] })).toThrow(
      InvalidOptionError,
    );
  });
});
