import { gotScraping } from 'got-scraping';
import { describe, expect, it } from 'vitest';
import type { Session } from '../../src/session.js';
import { NO_FAULTS } from '../../src/testing/test-site.js';
import { startProxy } from '../http/helpers.js';
import { useIntegrationCleanup } from './helpers.js';

const { pool, site, defer } = useIntegrationCleanup();

/** The README recipe: got-scraping with the session's jar, proxy and user agent; the outcome back to the pool. */
async function fetchPage(session: Session, url: string): Promise<string> {
  const response = await gotScraping({
    url,
    cookieJar: session.cookieJar,
    proxyUrl: session.revealProxyUrl() ?? undefined,
    headers: session.headerProfile?.userAgent ? { 'user-agent': session.headerProfile.userAgent } : {},
    throwHttpErrors: false,
    retry: { limit: 0 },
  });
  if (session.retireOnBlockedStatusCodes(response.statusCode))
    throw new Error(`blocked: ${response.statusCode}`);
  if (response.statusCode >= 500) throw new Error(`server error: ${response.statusCode}`);
  return response.body;
}

describe('recipe: got-scraping', () => {
  it('keeps the session’s cookies across a same-URL cookie check, through its proxy', async () => {
    const testSite = await site({ ...NO_FAULTS, cookieCheck: 'sameUrl' });
    const proxy = await startProxy({ user: 'crawler', pass: 'pw-123' });
    defer(() => proxy.close());
    const sessions = await pool({
      maxPoolSize: 2,
      proxyUrls: [`http://crawler:pw-123@127.0.0.1:${proxy.port}`],
      headerProfiles: [{ userAgent: 'Mozilla/5.0 (Recipe)' }],
    });
    for (const page of [1, 2, 3]) {
      const html = await sessions.withSession((session) =>
        fetchPage(session, `${testSite.url}/page/${page}`),
      );
      expect(html).toContain(`<title>Page ${page}</title>`);
    }
    // withSession picked sessions as the pool does; each one passed the check once and kept its cookie.
    expect(testSite.stats.cookieChecks).toBe(sessions.sessionsCount);
    expect(testSite.stats.pagesServed).toBe(3);
    for (const session of sessions.sessions()) {
      if (session.usageCount > 0) expect(session.getCookieString(testSite.url)).toMatch(/^sid=/);
    }
    const auth = `Basic ${Buffer.from('crawler:pw-123').toString('base64')}`;
    expect(proxy.log.length).toBeGreaterThan(0);
    expect(proxy.log.every((entry) => entry.auth === auth)).toBe(true);
  });

  it('reports a blocked response: the session retires', async () => {
    const testSite = await site({ ...NO_FAULTS, blockRate: 1 });
    const sessions = await pool({ maxPoolSize: 1 });
    const session = await sessions.getSession();
    await expect(
      sessions.withSession((leased) => fetchPage(leased, `${testSite.url}/page/1`)),
    ).rejects.toThrow(/blocked: 403/);
    expect(session.state).toBe('retired');
    expect(session.retirementReason).toBe('blockedStatusCode');
  });
});
