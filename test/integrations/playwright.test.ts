import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bindSessionToContext,
  newSessionContext,
  sessionContextOptions,
  toPlaywrightProxy,
} from '../../src/playwright/index.js';
import { NO_FAULTS } from '../../src/testing/test-site.js';
import { startProxy, startSocks5Proxy } from '../http/helpers.js';
import { launchChromium } from './browser.js';
import { HTML, useIntegrationCleanup } from './helpers.js';

const { pool, site, server, defer } = useIntegrationCleanup();

/** Keeps Chromium from fetching /favicon.ico, a response that would copy cookies back by itself. */
const NO_FAVICON = '<link rel="icon" href="data:,">';

const PROFILE = {
  userAgent: 'Mozilla/5.0 (SessionProfile) Chrome/131.0',
  headers: { 'accept-language': 'de-DE' },
};

describe('session-supervisor/playwright', () => {
  it('passes the test site’s cookie check and brings the session cookie back', async () => {
    const testSite = await site({ ...NO_FAULTS });
    const session = await (await pool()).getSession();
    const binding = await newSessionContext(browser, session);
    const page = await binding.context.newPage();
    const response = await page.goto(`${testSite.url}/page/3`);
    expect(response?.status()).toBe(200);
    expect(await page.title()).toBe('Page 3');
    await binding.close();
    expect(session.getCookies(testSite.url).map((cookie) => cookie.name)).toEqual(['sid']);
    expect(testSite.stats.cookieChecks).toBe(1);
    expect(testSite.stats.cookiesNotKept).toBe(0);
    // One page, one use: the 302 of the cookie check is not counted.
    expect(session.usageCount).toBe(1);
    expect(session.errorScore).toBe(0);

    // The next context of the same session starts with that cookie: no new cookie check.
    const again = await newSessionContext(browser, session);
    const second = await again.context.newPage();
    expect((await second.goto(`${testSite.url}/page/4`))?.status()).toBe(200);
    await again.close();
    expect(testSite.stats.cookieChecks).toBe(1);
    expect(testSite.stats.visitorsCreated).toBe(1);
  });

  it('keeps cookies set from JavaScript: on load, later ones on close, deletions too', async () => {
    const app = await server({
      '/js': (_req, res) =>
        res
          .writeHead(200, { ...HTML, 'set-cookie': 'server=1; Path=/' })
          .end(
            NO_FAVICON +
              '<script>document.cookie = "early=1; path=/";</script>' +
              "<button onclick=\"document.cookie = 'late=2; path=/'; document.cookie = 'server=; Max-Age=0; path=/'\">go</button>",
          ),
    });
    const session = await (await pool()).getSession();
    const binding = await newSessionContext(browser, session);
    const page = await binding.context.newPage();
    await page.goto(`${app.origin}/js`);
    // Copied on the page's load without an explicit flush.
    await expect.poll(() => session.getCookieString(app.origin)).toBe('server=1; early=1');
    // A click sets one cookie and deletes another: no response follows, so only closing copies them.
    await page.click('button');
    expect(await page.evaluate(() => document.cookie)).toBe('early=1; late=2');
    await binding.close();
    expect(session.getCookieString(app.origin)).toBe('early=1; late=2');
  });

  it('polls for cookies when asked to', async () => {
    const app = await server({
      '/slow-js': (_req, res) =>
        res
          .writeHead(200, HTML)
          .end('<script>setTimeout(() => { document.cookie = "polled=1"; }, 50);</script>'),
    });
    const session = await (await pool()).getSession();
    const binding = await newSessionContext(browser, session, { pollIntervalMs: 25 });
    defer(() => binding.close());
    await (await binding.context.newPage()).goto(`${app.origin}/slow-js`);
    await expect.poll(() => session.getCookieString(app.origin), { timeout: 5_000 }).toBe('polled=1');
  });

  it('puts the whole jar in: path-scoped and other-host cookies reach the browser', async () => {
    const app = await server({
      '/deep/echo': (req, res) => res.writeHead(200, HTML).end(`<pre>${req.headers.cookie ?? ''}</pre>`),
    });
    const session = await (await pool()).getSession();
    session.setCookie('root=1; Path=/', app.origin);
    session.setCookie('deep=2; Path=/deep', `${app.origin}/deep/echo`);
    session.setCookie('elsewhere=3; Path=/', app.origin.replace('127.0.0.1', 'localhost'));
    const binding = await newSessionContext(browser, session);
    const page = await binding.context.newPage();
    await page.goto(`${app.origin}/deep/echo`);
    expect(await page.textContent('pre')).toBe('deep=2; root=1');
    const inBrowser = (await binding.context.cookies()).map((cookie) => cookie.name).sort();
    expect(inBrowser).toEqual(['deep', 'elsewhere', 'root']);
    await binding.close();
  });

  it('reports main-frame navigation statuses like pool.fetch', async () => {
    const app = await server({
      '/ok': (_req, res) => res.writeHead(200, HTML).end('ok'),
      '/hop': (_req, res) => res.writeHead(302, { location: '/ok' }).end(),
      '/error': (_req, res) => res.writeHead(500, HTML).end('error'),
      '/ignored': (_req, res) => res.writeHead(502, HTML).end('ignored'),
      '/frame': (_req, res) => res.writeHead(200, HTML).end('<iframe src="/error"></iframe>'),
      '/blocked': (_req, res) => res.writeHead(403, HTML).end('blocked'),
    });
    const session = await (await pool()).getSession();
    const binding = await newSessionContext(browser, session, { ignoreHttpErrorStatusCodes: [502] });
    const page = await binding.context.newPage();
    await page.goto(`${app.origin}/hop`);
    await expect.poll(() => session.usageCount).toBe(1);
    expect(session.errorScore).toBe(0);
    await page.goto(`${app.origin}/error`);
    await expect.poll(() => session.errorScore).toBe(1);
    await page.goto(`${app.origin}/ignored`);
    await expect.poll(() => session.usageCount).toBe(3);
    expect(session.errorScore).toBe(0.5);
    // A sub-frame's 500 is not the page's outcome.
    await page.goto(`${app.origin}/frame`);
    await expect.poll(() => session.usageCount).toBe(4);
    expect(session.errorScore).toBe(0);
    await page.goto(`${app.origin}/blocked`);
    await expect.poll(() => session.state).toBe('retired');
    expect(session.retirementReason).toBe('blockedStatusCode');
    await binding.close();
  });

  it('marks a navigation that fails on the network as bad, but not an aborted one', async () => {
    const app = await server({
      '/ok': (_req, res) => res.writeHead(200, HTML).end('ok'),
      '/hang': () => undefined,
    });
    const session = await (await pool()).getSession();
    const binding = await newSessionContext(browser, session);
    const page = await binding.context.newPage();
    // A navigation replaced by another one is aborted: not the session's fault.
    const hanging = page.goto(`${app.origin}/hang`).catch((error: unknown) => error);
    await expect.poll(() => app.log.some((entry) => entry.path === '/hang')).toBe(true);
    await page.goto(`${app.origin}/ok`);
    expect(await hanging).toBeInstanceOf(Error);
    await expect.poll(() => session.usageCount).toBe(1);
    expect(session.errorScore).toBe(0);
    await app.close();
    await expect(page.goto(`${app.origin}/ok`)).rejects.toThrow();
    await expect.poll(() => session.errorScore).toBe(1);
    expect(session.usageCount).toBe(2);
    await binding.close();
  });

  it('sends the header profile: as context options, and on an existing context', async () => {
    const app = await server({
      '/headers': (req, res) =>
        res
          .writeHead(200, HTML)
          .end(
            `<pre>${JSON.stringify({ ua: req.headers['user-agent'], lang: req.headers['accept-language'] })}</pre>`,
          ),
    });
    const session = await (await pool({ headerProfiles: [PROFILE] })).getSession();
    const binding = await newSessionContext(browser, session);
    const page = await binding.context.newPage();
    await page.goto(`${app.origin}/headers`);
    expect(JSON.parse((await page.textContent('pre')) ?? '')).toEqual({
      ua: PROFILE.userAgent,
      lang: 'de-DE',
    });
    expect(await page.evaluate(() => navigator.userAgent)).toBe(PROFILE.userAgent);
    await binding.close();

    const existing = await browser.newContext();
    const bound = await bindSessionToContext(existing, session);
    const other = await existing.newPage();
    await other.goto(`${app.origin}/headers`);
    expect(JSON.parse((await other.textContent('pre')) ?? '')).toEqual({
      ua: PROFILE.userAgent,
      lang: 'de-DE',
    });
    await bound.close();
  });

  it('routes the context through the session’s proxy with its credentials', async () => {
    const proxy = await startProxy({ user: 'crawler', pass: 's3cr3t' });
    defer(() => proxy.close());
    const app = await server({ '/ok': (_req, res) => res.writeHead(200, HTML).end('<p>through</p>') });
    const session = await (
      await pool({ proxyUrls: [`http://crawler:s3cr3t@127.0.0.1:${proxy.port}`] })
    ).getSession();
    const options = sessionContextOptions(session);
    expect(options.proxy).toEqual({
      server: `http://127.0.0.1:${proxy.port}`,
      username: 'crawler',
      password: 's3cr3t',
    });
    const binding = await newSessionContext(browser, session);
    const page = await binding.context.newPage();
    expect((await page.goto(`${app.origin}/ok`))?.status()).toBe(200);
    await binding.close();
    const expected = `Basic ${Buffer.from('crawler:s3cr3t').toString('base64')}`;
    expect(proxy.log.some((entry) => entry.auth === expected)).toBe(true);
    // The page itself went through the proxy (absolute-form request for an http:// URL).
    expect(proxy.log.some((entry) => entry.target === `${app.origin}/ok` && entry.auth === expected)).toBe(
      true,
    );
  });

  it('routes the context through a SOCKS5 proxy', async () => {
    const proxy = await startSocks5Proxy();
    defer(() => proxy.close());
    const app = await server({ '/ok': (_req, res) => res.writeHead(200, HTML).end('<p>socks</p>') });
    const session = await (await pool({ proxyUrls: [proxy.url] })).getSession();
    const binding = await newSessionContext(browser, session);
    const page = await binding.context.newPage();
    expect((await page.goto(`${app.origin}/ok`))?.status()).toBe(200);
    await binding.close();
    expect(proxy.log.some((entry) => entry.target === `127.0.0.1:${new URL(app.origin).port}`)).toBe(true);
  });

  it('toPlaywrightProxy decodes credentials and keeps them out of server', () => {
    expect(toPlaywrightProxy('http://user:p%40ss@proxy.local:8000')).toEqual({
      server: 'http://proxy.local:8000',
      username: 'user',
      password: 'p@ss',
    });
    expect(toPlaywrightProxy('socks5://127.0.0.1:1080')).toEqual({ server: 'socks5://127.0.0.1:1080' });
  });

  it('records cookies the browser drops instead of failing the bind', async () => {
    const app = await server({ '/ok': (_req, res) => res.writeHead(200, HTML).end('ok') });
    const session = await (await pool()).getSession();
    session.importStorageState({
      cookies: [
        {
          name: 'fine',
          value: '1',
          domain: '127.0.0.1',
          path: '/',
          expires: -1,
          httpOnly: false,
          secure: false,
          sameSite: 'Lax',
        },
        {
          name: 'insecureNone',
          value: '2',
          domain: '127.0.0.1',
          path: '/',
          expires: -1,
          httpOnly: false,
          secure: false,
          sameSite: 'None',
        },
      ],
    });
    const binding = await newSessionContext(browser, session);
    expect(binding.rejectedCookies.map((cookie) => cookie.name)).toEqual(['insecureNone']);
    const page = await binding.context.newPage();
    await page.goto(`${app.origin}/ok`);
    expect(app.log[0]?.headers.cookie).toBe('fine=1');
    await binding.close();
  });
});

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});
