import axios, { type AxiosResponse } from 'axios';
import { Request as UndiciRequest, Response as UndiciResponse, fetch as undiciFetch } from 'undici';
import { describe, expect, it } from 'vitest';
import type { Session } from '../../src/session.js';
import { NO_FAULTS } from '../../src/testing/test-site.js';
import { useIntegrationCleanup } from './helpers.js';

const { pool, site } = useIntegrationCleanup();

/**
 * Recipe 1: axios follows redirects itself and drops a 302's Set-Cookie, so follow them here (`maxRedirects: 0`),
 * storing each hop's cookies in the session and sending the jar's on the next.
 */
async function axiosGet(session: Session, url: string, maxRedirects = 10): Promise<AxiosResponse<string>> {
  let target = url;
  for (let hop = 0; ; hop += 1) {
    const response = await axios.get<string>(target, {
      maxRedirects: 0,
      validateStatus: () => true,
      responseType: 'text',
      headers: { cookie: session.getCookieString(target) },
    });
    session.setCookiesFromResponse({
      headers: { 'set-cookie': response.headers['set-cookie'] },
      url: target,
    });
    const location = response.headers.location as string | undefined;
    if (response.status < 300 || response.status >= 400 || !location) return response;
    if (hop >= maxRedirects) throw new Error(`more than ${maxRedirects} redirects`);
    target = new URL(location, target).href;
  }
}

/** Recipe 2: axios's fetch adapter over undici's fetch with the session's dispatcher (cookies and outcomes by us). */
function axiosThroughSession(session: Session) {
  return axios.create({
    adapter: 'fetch',
    env: {
      fetch: (input: RequestInfo | URL, init?: RequestInit) =>
        undiciFetch(input as never, { ...(init as object), dispatcher: session.dispatcher }) as never,
      Request: UndiciRequest as never,
      Response: UndiciResponse as never,
    },
  });
}

describe('recipe: axios', () => {
  it('plain axios loses the cookie of a same-URL cookie check (what the recipes fix)', async () => {
    const testSite = await site({ ...NO_FAULTS, cookieCheck: 'sameUrl' });
    await expect(axios.get(`${testSite.url}/page/1`, { maxRedirects: 5 })).rejects.toThrow(/redirect/i);
    expect(testSite.stats.cookieChecks).toBe(6);
    expect(testSite.stats.pagesServed).toBe(0);
  });

  it('recipe 1 (maxRedirects: 0 and a loop) keeps the 302’s Set-Cookie and reports outcomes', async () => {
    const testSite = await site({ ...NO_FAULTS, cookieCheck: 'sameUrl' });
    const sessions = await pool({ maxPoolSize: 1 });
    for (const page of [1, 2]) {
      await sessions.withSession(async (session) => {
        const response = await axiosGet(session, `${testSite.url}/page/${page}`);
        if (session.retireOnBlockedStatusCodes(response.status))
          throw new Error(`blocked: ${response.status}`);
        if (response.status >= 500) throw new Error(`server error: ${response.status}`);
        expect(response.data).toContain(`<title>Page ${page}</title>`);
      });
    }
    const session = await sessions.getSession();
    expect(session.getCookieString(testSite.url)).toMatch(/^sid=/);
    expect(session.usageCount).toBe(2);
    expect(testSite.stats.cookieChecks).toBe(1);
    expect(testSite.stats.pagesServed).toBe(2);
  });

  it('recipe 2 (fetch adapter over session.dispatcher) keeps cookies and reports each page once', async () => {
    const testSite = await site({ ...NO_FAULTS, cookieCheck: 'sameUrl' });
    const sessions = await pool({
      maxPoolSize: 1,
      headerProfiles: [{ userAgent: 'Mozilla/5.0 (Axios recipe)' }],
    });
    const session = await sessions.getSession();
    const client = axiosThroughSession(session);
    for (const page of [1, 2, 3]) {
      const response = await client.get<string>(`${testSite.url}/page/${page}`);
      expect(response.data).toContain(`<title>Page ${page}</title>`);
    }
    expect(testSite.stats.cookieChecks).toBe(1);
    expect(session.getCookieString(testSite.url)).toMatch(/^sid=/);
    // The dispatcher reported one outcome per page (the cookie check's 302 is not counted).
    await expect.poll(() => session.usageCount).toBe(3);
    const blocked = await site({ ...NO_FAULTS, blockRate: 1 });
    await expect(client.get(`${blocked.url}/page/1`)).rejects.toThrow(/403/);
    await expect.poll(() => session.state).toBe('retired');
  });
});
