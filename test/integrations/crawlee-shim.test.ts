/**
 * The one shim of session-supervisor/crawlee (src/crawlee/pool.ts) leans on three things Crawlee 3 does without
 * promising them. Each test here fails if a Crawlee release changes one of them.
 */
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import {
  attachSessionPool,
  CrawleeIncompatibleError,
  CrawleeSessionPool,
  createCrawler,
} from '../../src/crawlee/index.js';
import { InvalidOptionError } from '../../src/errors.js';
import { NO_FAULTS } from '../../src/testing/test-site.js';
import { crawlee, freshConfig } from './crawlee-env.js';
import { useIntegrationCleanup } from './helpers.js';

const { BasicCrawler, CheerioCrawler, HttpCrawler, PlaywrightCrawler, SessionPool: CrawleeOwnPool } = crawlee;
const { pool, site, server } = useIntegrationCleanup();

describe('Crawlee internals the shim relies on', () => {
  it('1. every crawler class keeps its session pool in a configurable own property "sessionPool"', async () => {
    const sessions = await pool();
    const crawlers = [
      new BasicCrawler({ requestHandler: async () => {} }, freshConfig()),
      new CheerioCrawler({ requestHandler: async () => {} }, freshConfig()),
      new HttpCrawler({ requestHandler: async () => {} }, freshConfig()),
      new PlaywrightCrawler(
        { requestHandler: async () => {}, launchContext: { launcher: chromium } },
        freshConfig(),
      ),
    ];
    for (const crawler of crawlers) {
      const descriptor = Object.getOwnPropertyDescriptor(crawler, 'sessionPool');
      expect(descriptor?.configurable).toBe(true);
      expect('value' in (descriptor ?? {})).toBe(true);
      const adapter = new CrawleeSessionPool(sessions);
      attachSessionPool(crawler, adapter);
      expect(crawler.sessionPool as unknown).toBe(adapter);
      // Attaching twice (a second adapter) is allowed: the property is ours now.
      attachSessionPool(crawler, new CrawleeSessionPool(sessions));
    }
  });

  it('2. run() opens and assigns its own pool in _init (which the shim closes) and tears down whatever it holds', async () => {
    const testSite = await site({ ...NO_FAULTS });
    const sessions = await pool({ maxPoolSize: 2 });
    const crawler = createCrawler(
      BasicCrawler,
      sessions,
      { requestHandler: async ({ session }) => void session?.markGood() },
      freshConfig(),
    );
    const adapter = crawler.sessionPool as unknown as CrawleeSessionPool;
    expect(adapter).toBeInstanceOf(CrawleeSessionPool);
    let assigned: unknown;
    const original = adapter.discardOwnPool.bind(adapter);
    adapter.discardOwnPool = (own: unknown) => {
      assigned = own;
      original(own);
    };
    await crawler.run([`${testSite.url}/page/1`]);
    expect(assigned).toBeInstanceOf(CrawleeOwnPool);
    expect(adapter.replacedPools).toBe(1);
    expect(crawler.sessionPool as unknown).toBe(adapter);
    // Crawlee's teardown reached our adapter, not our pool: the pool still works, and a second run uses it again.
    expect(sessions.sessionsCount).toBeGreaterThan(0);
    await crawler.run([`${testSite.url}/page/2`]);
    expect(adapter.replacedPools).toBe(2);
    expect((await sessions.getSession()).isUsable()).toBe(true);
  });

  it('3. HttpCrawler reads the pool’s blockedStatusCodes (Crawlee-private) to tell a block from a wrong content type', async () => {
    // A 418 with a content type Crawlee would not download: only because 418 is one of our blocked codes (read from
    // the adapter) does Crawlee keep the request retryable, see the session retire and try again.
    const app = await server({
      '/teapot': (_req, res) => res.writeHead(418, { 'content-type': 'application/octet-stream' }).end('x'),
    });
    const sessions = await pool({ maxPoolSize: 5, blockedStatusCodes: [418] });
    const crawler = createCrawler(
      HttpCrawler,
      sessions,
      { maxRequestRetries: 2, requestHandler: async () => {} },
      freshConfig(),
    );
    await crawler.run([`${app.origin}/teapot`]);
    expect(app.log.filter((entry) => entry.path === '/teapot')).toHaveLength(3);
    expect(sessions.retiredSessionsCount).toBe(3);
  });
});

describe('shim errors', () => {
  it('refuses a crawler without a session pool, and options that belong to our pool', async () => {
    const sessions = await pool();
    const withoutPool = new BasicCrawler(
      { useSessionPool: false, requestHandler: async () => {} },
      freshConfig(),
    );
    expect(() => attachSessionPool(withoutPool, new CrawleeSessionPool(sessions))).toThrow(
      CrawleeIncompatibleError,
    );
    expect(() => attachSessionPool({}, new CrawleeSessionPool(sessions))).toThrow(/useSessionPool/);
    expect(() =>
      createCrawler(BasicCrawler, sessions, {
        requestHandler: async () => {},
        sessionPoolOptions: { maxPoolSize: 5 },
      }),
    ).toThrow(InvalidOptionError);
    expect(() =>
      createCrawler(BasicCrawler, sessions, {
        requestHandler: async () => {},
        sessionPoolOptions: { maxPoolSize: 5 },
      }),
    ).toThrow(/sessionPoolOptions/);
    expect(() =>
      createCrawler(PlaywrightCrawler, sessions, {
        requestHandler: async () => {},
        launchContext: { launcher: chromium, useIncognitoPages: false },
      }),
    ).toThrow(/launchContext\.useIncognitoPages/);
  });
});
