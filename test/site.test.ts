import { createServer, type Server } from 'node:http';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../src/errors.js';
import { listenWithFallback } from '../src/testing/listen.js';
import { isCaptchaPage } from '../src/testing/site-pages.js';
import { NO_FAULTS, startTestSite, type TestSite, type TestSiteOptions } from '../src/testing/test-site.js';

const QUIET: TestSiteOptions = { ...NO_FAULTS, redirectRate: 0 };

const open: TestSite[] = [];
const servers: Server[] = [];

async function site(options: TestSiteOptions = {}): Promise<TestSite> {
  const started = await startTestSite(options);
  open.push(started);
  return started;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

async function get(url: string, cookie?: string): Promise<Reply> {
  const response = await request(url, { headers: cookie ? { cookie } : {} });
  return { status: response.statusCode, headers: response.headers, body: await response.body.text() };
}

function cookieOf(reply: Reply, name: string): string | undefined {
  const raw = reply.headers['set-cookie'];
  const all = Array.isArray(raw) ? raw : raw ? [raw] : [];
  const found = all.find((c) => c.startsWith(`${name}=`));
  return found?.split(';')[0];
}

/** A visitor that keeps its session cookie: passes the cookie check and returns `sid=…`. */
async function visitor(s: TestSite): Promise<string> {
  const first = await get(`${s.url}/`);
  const sid = cookieOf(first, 'sid');
  if (!sid) throw new Error('no session cookie');
  return sid;
}

describe('test site: cookies', () => {
  it('sets a session cookie on the first visit (302 cookie check) and serves the page once it comes back', async () => {
    const s = await site(QUIET);
    const first = await get(`${s.url}/page/3`);
    expect(first.status).toBe(302);
    expect(first.headers.location).toBe('/page/3?__cc=1');
    const sid = cookieOf(first, 'sid');
    expect(sid).toMatch(/^sid=[0-9a-f]+[0-9a-z]*\.[0-9a-z]+$/);
    const back = await get(`${s.url}${first.headers.location}`, sid);
    expect(back.status).toBe(200);
    expect(back.body).toContain('<h1>Page 3</h1>');
    expect(s.stats).toMatchObject({
      visitorsCreated: 1,
      cookieChecks: 1,
      pagesServed: 1,
      requestsWithCookie: 1,
    });
  });

  it('refuses a client that comes back from the cookie check without the cookie', async () => {
    const s = await site(QUIET);
    const first = await get(`${s.url}/page/1`);
    const back = await get(`${s.url}${first.headers.location}`);
    expect(back.status).toBe(403);
    expect(back.body).toContain('Cookies required');
    expect(s.stats.cookiesNotKept).toBe(1);
  });

  it('serves a first visit directly when requireCookies is false', async () => {
    const s = await site({ ...QUIET, requireCookies: false });
    const first = await get(`${s.url}/page/2`);
    expect(first.status).toBe(200);
    expect(cookieOf(first, 'sid')).toBeDefined();
  });

  it('accepts a cookie issued by an earlier site with the same seed and rejects a forged one', async () => {
    const a = await site({ ...QUIET, seed: 9 });
    const sid = await visitor(a);
    await a.close();
    const b = await site({ ...QUIET, seed: 9 });
    expect((await get(`${b.url}/page/0`, sid)).status).toBe(200);
    const other = await site({ ...QUIET, seed: 10 });
    expect((await get(`${other.url}/page/0`, sid)).status).toBe(302);
    expect(other.stats.invalidCookies).toBe(1);
  });

  it('redirects /go/<n> with a Set-Cookie on the 302 and notices a client that drops it', async () => {
    const s = await site({ ...QUIET, redirectRate: 1 });
    expect(s.links(0).every((href) => href.startsWith('/go/'))).toBe(true);
    const sid = await visitor(s);
    const hop = await get(`${s.url}/go/7`, sid);
    expect(hop.status).toBe(302);
    expect(hop.headers.location).toBe('/page/7?via=go');
    const hopCookie = cookieOf(hop, 'hop');
    expect(hopCookie).toBe('hop=7');
    expect((await get(`${s.url}/page/7?via=go`, `${sid}; ${hopCookie}`)).status).toBe(200);
    expect(s.stats.redirectCookiesMissing).toBe(0);
    await get(`${s.url}/page/7?via=go`, sid);
    expect(s.stats).toMatchObject({ redirects: 1, redirectCookiesMissing: 1 });
  });
});

describe('test site: bot protection', () => {
  it('bans a visitor after blockAfter requests, for good', async () => {
    const s = await site({ ...QUIET, blockAfter: 3 });
    const sid = await visitor(s);
    const statuses = [];
    for (let i = 0; i < 5; i += 1) statuses.push((await get(`${s.url}/page/${i}`, sid)).status);
    expect(statuses).toEqual([200, 200, 200, 403, 403]);
    expect(s.stats).toMatchObject({ visitorsBlocked: 1, blockedResponses: 2 });
    // Another visitor is not affected.
    expect((await get(`${s.url}/page/0`, await visitor(s))).status).toBe(200);
  });

  it('bans at random with blockRate', async () => {
    const s = await site({ ...QUIET, blockRate: 1 });
    const sid = await visitor(s);
    expect((await get(`${s.url}/page/0`, sid)).status).toBe(403);
    expect(s.stats.visitorsBlocked).toBe(1);
  });

  it('rate-limits with 429 and Retry-After', async () => {
    const s = await site({ ...QUIET, rateLimitRate: 1, retryAfterSecs: 7 });
    const reply = await get(`${s.url}/page/0`, await visitor(s));
    expect(reply.status).toBe(429);
    expect(reply.headers['retry-after']).toBe('7');
    expect(s.stats.rateLimited).toBe(1);
  });

  it('serves captcha pages with status 200', async () => {
    const s = await site({ ...QUIET, captchaRate: 1 });
    const reply = await get(`${s.url}/page/0`, await visitor(s));
    expect(reply.status).toBe(200);
    expect(isCaptchaPage(reply.body)).toBe(true);
    expect(s.stats.captchas).toBe(1);
    expect(s.stats.pagesServed).toBe(0);
  });

  it('fails with 5xx and delays responses now and then', async () => {
    const s = await site({ ...QUIET, errorRate: 1, slowRate: 1, slowMs: 20 });
    const sid = await visitor(s);
    for (let i = 0; i < 6; i += 1) {
      expect([500, 502, 503]).toContain((await get(`${s.url}/page/${i}`, sid)).status);
    }
    expect(s.stats).toMatchObject({ serverErrors: 6, slowResponses: 6 });
  });

  it('mixes outcomes at the configured rates', async () => {
    const s = await site({ seed: 3, blockAfter: 0, blockRate: 0, rateLimitRate: 0.2, errorRate: 0.2 });
    const sid = await visitor(s);
    const counts: Record<number, number> = {};
    for (let i = 0; i < 400; i += 1) {
      const { status } = await get(`${s.url}/page/${i}`, sid);
      counts[status] = (counts[status] ?? 0) + 1;
    }
    expect(counts[429]).toBeGreaterThan(40);
    expect(counts[429]).toBeLessThan(130);
    expect(counts[200]).toBeGreaterThan(180);
  });
});

describe('test site: graph and reproducibility', () => {
  it('links every page from the home page (the graph is connected) and 404s outside it', async () => {
    const s = await site({ ...QUIET, pages: 60, requireCookies: false });
    const seen = new Set<string>();
    const queue = ['/'];
    while (queue.length > 0) {
      const path = queue.shift()!;
      if (seen.has(path)) continue;
      seen.add(path);
      const page = await get(`${s.url}${path}`);
      expect(page.status).toBe(200);
      for (const [, href] of page.body.matchAll(/href="([^"]+)"/g)) queue.push(href!);
    }
    expect([...seen].filter((p) => p.startsWith('/page/')).length).toBe(60);
    expect((await get(`${s.url}/page/60`)).status).toBe(404);
    expect((await get(`${s.url}/nope`)).status).toBe(404);
  });

  it('replays the same statuses and links for the same seed, and differs for another seed', async () => {
    const run = async (seed: number) => {
      const s = await site({ seed, blockAfter: 20, rateLimitRate: 0.1, captchaRate: 0.1, errorRate: 0.1 });
      const sid = await visitor(s);
      const statuses: number[] = [];
      for (let i = 0; i < 40; i += 1) statuses.push((await get(`${s.url}/page/${i}`, sid)).status);
      return { statuses, links: s.links(5) };
    };
    const a = await run(42);
    const b = await run(42);
    const c = await run(43);
    expect(a).toEqual(b);
    expect(a.statuses.slice(20)).toEqual(Array(20).fill(403));
    expect(c.links).not.toEqual(a.links);
  });
});

describe('test site: bad input and ports', () => {
  it('rejects bad options with an InvalidOptionError naming the field', async () => {
    await expect(startTestSite({ blockRate: 2 })).rejects.toMatchObject({ field: 'blockRate' });
    await expect(startTestSite({ pages: 0 })).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(startTestSite({ seed: -1 })).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
      field: 'seed',
    });
    await expect(startTestSite({ bogus: 1 } as TestSiteOptions)).rejects.toMatchObject({ field: 'bogus' });
    await expect(startTestSite({ errorRate: 0.6, captchaRate: 0.6 })).rejects.toBeInstanceOf(
      InvalidOptionError,
    );
  });

  it('picks another port when the one asked for is busy', async () => {
    const busy = createServer();
    servers.push(busy);
    const { port } = await listenWithFallback(busy, '127.0.0.1', 0);
    const s = await site({ ...QUIET, port });
    expect(s.port).not.toBe(port);
    expect((await get(`${s.url}/`)).status).toBe(302);
  });
});
