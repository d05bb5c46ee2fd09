import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { CrawleeSession, createCrawler, fetchInCrawler } from '../../src/crawlee/index.js';
import { NO_FAULTS } from '../../src/testing/test-site.js';
import { startProxy } from '../http/helpers.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './browser.js';
import { crawlee, freshConfig } from './crawlee-env.js';
import { HTML, useIntegrationCleanup } from './helpers.js';

const { BasicCrawler, CheerioCrawler, PlaywrightCrawler } = crawlee;
const { pool, site, server, defer } = useIntegrationCleanup();

const PROFILES = [
  { userAgent: 'Mozilla/5.0 (Profile A)', headers: { 'accept-language': 'de-DE' } },
  { userAgent: 'Mozilla/5.0 (Profile B)', headers: { 'accept-language': 'fr-FR' } },
];

function totalUsage(sessions: Iterable<{ usageCount: number }>): number {
  let total = 0;
  for (const session of sessions) total += session.usageCount;
  return total;
}

describe('CheerioCrawler on our pool', () => {
  it('crawls the test site with our sessions, cookies per session, one use per page', async () => {
    const testSite = await site({ ...NO_FAULTS, pages: 40 });
    const sessions = await pool({ maxPoolSize: 3 });
    const seen: { sessionId: string; ours: boolean; title: string }[] = [];
    const crawler = createCrawler(
      CheerioCrawler,
      sessions,
      {
        maxRequestsPerCrawl: 12,
        maxConcurrency: 3,
        async requestHandler({ $, session, enqueueLinks }) {
          seen.push({
            sessionId: session?.id ?? '',
            ours: session instanceof CrawleeSession,
            title: $('title').text(),
          });
          await enqueueLinks({ selector: 'a' });
        },
      },
      freshConfig(),
    );
    const stats = await crawler.run([`${testSite.url}/`]);
    expect(stats.requestsFinished).toBe(12);
    expect(seen.every((entry) => entry.ours)).toBe(true);
    expect(new Set(seen.map((entry) => entry.sessionId)).size).toBeLessThanOrEqual(3);
    for (const entry of seen) expect(entry.sessionId).toBe((await sessions.getSession(entry.sessionId))?.id);
    // Every session kept its cookie: one cookie check per session, never a visitor who lost it.
    expect(testSite.stats.cookiesNotKept).toBe(0);
    expect(testSite.stats.visitorsCreated).toBe(sessions.sessionsCount);
    expect(testSite.stats.redirectCookiesMissing).toBe(0);
    // One use per page, counted once (Crawlee marks good once per task).
    expect(totalUsage(sessions.sessions())).toBe(12);
    // run() did not tear our pool down.
    expect((await sessions.getSession()).isUsable()).toBe(true);
  });

  it('passes a same-URL cookie check (302 + Set-Cookie back to the same URL)', async () => {
    const testSite = await site({ ...NO_FAULTS, cookieCheck: 'sameUrl' });
    const sessions = await pool({ maxPoolSize: 1 });
    const titles: string[] = [];
    const crawler = createCrawler(
      CheerioCrawler,
      sessions,
      {
        maxConcurrency: 1,
        async requestHandler({ $ }) {
          titles.push($('title').text());
        },
      },
      freshConfig(),
    );
    await crawler.run([1, 2, 3].map((page) => `${testSite.url}/page/${page}`));
    expect(titles.sort()).toEqual(['Page 1', 'Page 2', 'Page 3']);
    expect(testSite.stats.cookieChecks).toBe(1);
  });

  it('sends each session’s header profile and proxy; the request’s own headers win', async () => {
    const proxy = await startProxy({ user: 'u', pass: 'p4ss' });
    defer(() => proxy.close());
    const app = await server({
      '/who': (req, res) =>
        res
          .writeHead(200, HTML)
          .end(
            `<html><head><title>${req.headers['user-agent']}|${req.headers['accept-language']}</title></head></html>`,
          ),
    });
    const sessions = await pool({
      maxPoolSize: 2,
      headerProfiles: PROFILES,
      proxyUrls: [`http://u:p4ss@127.0.0.1:${proxy.port}`],
    });
    const titles = new Map<string, string>();
    const crawler = createCrawler(
      CheerioCrawler,
      sessions,
      {
        maxConcurrency: 1,
        async requestHandler({ $, request, session }) {
          titles.set(request.uniqueKey, `${session?.id}|${$('title').text()}`);
        },
      },
      freshConfig(),
    );
    await crawler.run([
      { url: `${app.origin}/who?1`, uniqueKey: 'a' },
      { url: `${app.origin}/who?2`, uniqueKey: 'b' },
      { url: `${app.origin}/who?3`, uniqueKey: 'c', headers: { 'User-Agent': 'explicit/1.0' } },
    ]);
    for (const key of ['a', 'b']) {
      const [id, ua, lang] = (titles.get(key) ?? '').split('|');
      const session = await sessions.getSession(id as string);
      expect(ua).toBe(session?.headerProfile?.userAgent);
      expect(lang).toBe(session?.headerProfile?.headers?.['accept-language']);
    }
    expect((titles.get('c') ?? '').split('|')[1]).toBe('explicit/1.0');
    const auth = `Basic ${Buffer.from('u:p4ss').toString('base64')}`;
    expect(proxy.log.length).toBeGreaterThanOrEqual(3);
    expect(proxy.log.every((entry) => entry.auth === auth)).toBe(true);
  });

  it('retires a session on a blocked status; Crawlee retries on new sessions, no more than maxRequestRetries', async () => {
    const testSite = await site({ ...NO_FAULTS, blockRate: 1 });
    const sessions = await pool({ maxPoolSize: 10 });
    const retired: string[] = [];
    sessions.on('sessionRetired', ({ session, reason }) => retired.push(`${session.id}:${reason}`));
    const failed: string[] = [];
    const crawler = createCrawler(
      CheerioCrawler,
      sessions,
      {
        maxRequestRetries: 2,
        async requestHandler() {},
        async failedRequestHandler({ request }) {
          failed.push(request.url);
        },
      },
      freshConfig(),
    );
    await crawler.run([`${testSite.url}/page/1`]);
    expect(failed).toEqual([`${testSite.url}/page/1`]);
    // Three tries, each on a new session that the 403 retired.
    expect(testSite.stats.blockedResponses).toBe(3);
    expect(retired).toHaveLength(3);
    expect(retired.every((entry) => entry.endsWith(':blockedStatusCode'))).toBe(true);
  });
});

describe('BasicCrawler with fetchInCrawler', () => {
  it('fetches through the task’s session: cookies kept, one use per task, not two', async () => {
    const testSite = await site({ ...NO_FAULTS });
    const sessions = await pool({ maxPoolSize: 2 });
    const statuses: number[] = [];
    const crawler = createCrawler(
      BasicCrawler,
      sessions,
      {
        maxConcurrency: 2,
        async requestHandler(context) {
          const response = await fetchInCrawler(context, context.request.url);
          statuses.push(response.statusCode);
          expect(response.session).toBe((context.session as unknown as CrawleeSession).session);
        },
      },
      freshConfig(),
    );
    const urls = Array.from({ length: 8 }, (_, i) => `${testSite.url}/page/${i}`);
    await crawler.run(urls);
    expect(statuses).toEqual(Array(8).fill(200));
    expect(totalUsage(sessions.sessions())).toBe(8);
    expect(testSite.stats.cookiesNotKept).toBe(0);
    expect(testSite.stats.visitorsCreated).toBe(sessions.sessionsCount);
  });

  it('a blocked page costs maxSessionRotations + 1 requests, one session each (no rotation inside a task)', async () => {
    const testSite = await site({ ...NO_FAULTS, blockRate: 1 });
    const sessions = await pool({ maxPoolSize: 20, maxSessionRotations: 3 });
    const errors: string[] = [];
    const crawler = createCrawler(
      BasicCrawler,
      sessions,
      {
        maxSessionRotations: 3,
        maxRequestRetries: 1,
        async requestHandler(context) {
          await fetchInCrawler(context, context.request.url);
        },
        async failedRequestHandler(_context, error) {
          errors.push(error.constructor.name);
        },
      },
      freshConfig(),
    );
    await crawler.run([`${testSite.url}/page/0`]);
    expect(errors).toEqual(['SessionError']);
    expect(testSite.stats.blockedResponses).toBe(4);
    expect(testSite.stats.visitorsCreated).toBe(4);
    expect(sessions.retiredSessionsCount).toBe(4);
  });
});

describe('BasicCrawler: reserved uses', () => {
  it('reserves each task’s use: a session’s first task goes alone, then at most maxConcurrencyPerSession', async () => {
    // Slow pages, so that tasks on the one session overlap if nothing keeps them apart.
    const testSite = await site({ ...NO_FAULTS, slowRate: 1, slowMs: 30 });
    const sessions = await pool({ maxPoolSize: 1, maxConcurrencyPerSession: 2 });
    let inFlight = 0;
    let most = 0;
    const atFirstUse: number[] = [];
    const crawler = createCrawler(
      BasicCrawler,
      sessions,
      {
        minConcurrency: 4,
        maxConcurrency: 4,
        async requestHandler({ sendRequest, session }) {
          inFlight += 1;
          most = Math.max(most, inFlight);
          if (session?.usageCount === 0) atFirstUse.push(inFlight);
          try {
            await sendRequest();
          } finally {
            inFlight -= 1;
          }
        },
      },
      freshConfig(),
    );
    await crawler.run(Array.from({ length: 12 }, (_, i) => `${testSite.url}/page/${i}`));
    // The first task ran alone and brought the site's cookie back: one visitor for the session, ever.
    expect(atFirstUse).toEqual([1]);
    expect(testSite.stats.visitorsCreated).toBe(1);
    expect(testSite.stats.cookiesNotKept).toBe(0);
    expect(most).toBeLessThanOrEqual(2);
    expect(totalUsage(sessions.sessions())).toBe(12);
    expect(sessions.stats().uses.reserved).toBe(0);
  });
});

describe('BasicCrawler with context.sendRequest', () => {
  it('sends through the session’s proxy with its profile, and keeps a same-URL cookie check’s cookie', async () => {
    const testSite = await site({ ...NO_FAULTS, cookieCheck: 'sameUrl' });
    const proxy = await startProxy({ user: 'u', pass: 'p4ss' });
    defer(() => proxy.close());
    const app = await server({
      '/who': (req, res) => res.writeHead(200, HTML).end(String(req.headers['user-agent'])),
    });
    const sessions = await pool({
      maxPoolSize: 1,
      headerProfiles: [PROFILES[0] as (typeof PROFILES)[0]],
      proxyUrls: [`http://u:p4ss@127.0.0.1:${proxy.port}`],
    });
    const bodies: string[] = [];
    const crawler = createCrawler(
      BasicCrawler,
      sessions,
      {
        maxConcurrency: 1, // one after the other: the second page finds the first one's cookie
        async requestHandler({ sendRequest }) {
          const response = await sendRequest();
          bodies.push(String(response.body));
        },
      },
      freshConfig(),
    );
    await crawler.run([`${testSite.url}/page/1`, `${testSite.url}/page/2`, `${app.origin}/who`]);
    expect(bodies.filter((body) => body.includes('<title>Page'))).toHaveLength(2);
    expect(bodies).toContain(PROFILES[0]?.userAgent);
    expect(testSite.stats.cookieChecks).toBe(1);
    const auth = `Basic ${Buffer.from('u:p4ss').toString('base64')}`;
    expect(proxy.log.length).toBeGreaterThanOrEqual(3);
    expect(proxy.log.every((entry) => entry.auth === auth)).toBe(true);
    const session = await sessions.getSession();
    expect(session.usageCount).toBe(3);
  });
});

describe('BasicCrawler: failures and sharing', () => {
  it('a 5xx page is retried maxRequestRetries times, each try one use with a bad outcome', async () => {
    const testSite = await site({ ...NO_FAULTS, errorRate: 1 });
    const sessions = await pool({ maxPoolSize: 1, sessionOptions: { maxErrorScore: 10 } });
    const crawler = createCrawler(
      BasicCrawler,
      sessions,
      {
        maxRequestRetries: 2,
        async requestHandler(context) {
          await fetchInCrawler(context, context.request.url);
        },
      },
      freshConfig(),
    );
    await crawler.run([`${testSite.url}/page/0`]);
    expect(testSite.stats.serverErrors).toBe(3);
    const session = await sessions.getSession();
    expect(session.usageCount).toBe(3);
    expect(session.errorScore).toBe(3);
  });

  it('two crawlers share one pool at once; neither run() tears it down', async () => {
    const testSite = await site({ ...NO_FAULTS });
    const sessions = await pool({ maxPoolSize: 2 });
    const handler = async ({ session }: { session?: unknown }) => {
      expect(session).toBeInstanceOf(CrawleeSession);
    };
    const first = createCrawler(CheerioCrawler, sessions, { requestHandler: handler }, freshConfig());
    const second = createCrawler(CheerioCrawler, sessions, { requestHandler: handler }, freshConfig());
    const [a, b] = await Promise.all([
      first.run([1, 2, 3].map((page) => `${testSite.url}/page/${page}`)),
      second.run([4, 5, 6].map((page) => `${testSite.url}/page/${page}`)),
    ]);
    expect(a.requestsFinished + b.requestsFinished).toBe(6);
    expect(sessions.sessionsCount).toBeLessThanOrEqual(2);
    expect(totalUsage(sessions.sessions())).toBe(6);
    expect(testSite.stats.cookiesNotKept).toBe(0);
    expect((await sessions.getSession()).isUsable()).toBe(true);
  });
});

describe('PlaywrightCrawler on our pool', () => {
  it('crawls with one incognito context per page bound to the session, JS cookies kept', async () => {
    const testSite = await site({ ...NO_FAULTS, pages: 30 });
    const app = await server({
      '/js': (_req, res) =>
        res
          .writeHead(200, HTML)
          .end(
            '<html><head><title>js</title></head><body><script>' +
              'setTimeout(() => { document.cookie = "fromScript=" + Date.now() + "; path=/"; }, 30);' +
              '</script></body></html>',
          ),
      '/ua': (req, res) =>
        res.writeHead(200, HTML).end(`<html><head><title>${req.headers['user-agent']}</title></head></html>`),
    });
    const sessions = await pool({ maxPoolSize: 2, headerProfiles: PROFILES });
    const seen: { url: string; sessionId: string; title: string; navigatorAgent: string }[] = [];
    const crawler = createCrawler(
      PlaywrightCrawler,
      sessions,
      {
        minConcurrency: 2,
        maxConcurrency: 2,
        maxRequestsPerCrawl: 6,
        launchContext: {
          launcher: chromium,
          launchOptions: { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true },
        },
        browserPoolOptions: { useFingerprints: false },
        async requestHandler({ page, request, session }) {
          if (request.url.endsWith('/js')) {
            await page.waitForFunction(() => document.cookie.includes('fromScript='));
          }
          const navigatorAgent = await page.evaluate(() => navigator.userAgent);
          seen.push({
            url: request.url,
            sessionId: session?.id ?? '',
            title: await page.title(),
            navigatorAgent,
          });
        },
      },
      freshConfig(),
    );
    await crawler.run([
      `${testSite.url}/page/1`,
      `${testSite.url}/page/2`,
      `${testSite.url}/page/3`,
      `${app.origin}/js`,
      `${app.origin}/ua`,
    ]);
    expect(seen).toHaveLength(5);
    expect(testSite.stats.cookiesNotKept).toBe(0);
    // Each session passed the cookie check once at most; the browser contexts started with its cookie.
    expect(testSite.stats.visitorsCreated).toBeLessThanOrEqual(sessions.sessionsCount);
    for (const session of sessions.sessions()) {
      if (seen.some((entry) => entry.sessionId === session.id && entry.url.startsWith(testSite.url))) {
        expect(session.getCookies(testSite.url).map((cookie) => cookie.name)).toContain('sid');
      }
    }
    const jsEntry = seen.find((entry) => entry.url.endsWith('/js'));
    const jsSession = await sessions.getSession(jsEntry?.sessionId ?? '');
    expect(jsSession?.getCookieString(app.origin)).toMatch(/fromScript=\d+/);
    const uaEntry = seen.find((entry) => entry.url.endsWith('/ua'));
    const uaSession = await sessions.getSession(uaEntry?.sessionId ?? '');
    expect(uaEntry?.title).toBe(uaSession?.headerProfile?.userAgent);
    // Chromium pages get the profile's agent in navigator.userAgent too.
    for (const entry of seen) {
      const session = await sessions.getSession(entry.sessionId);
      expect(entry.navigatorAgent).toBe(session?.headerProfile?.userAgent);
    }
    expect(totalUsage(sessions.sessions())).toBe(5);
    expect((await sessions.getSession()).isUsable()).toBe(true);
  });
});
