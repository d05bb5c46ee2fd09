import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../src/errors.js';
import { NO_FAULTS, startTestSite } from '../../src/testing/test-site.js';
import { useIntegrationCleanup } from './helpers.js';

const { site } = useIntegrationCleanup();

describe("test site: cookieCheck: 'sameUrl'", () => {
  it('redirects a visitor without the cookie to the very URL it asked for, with the cookie', async () => {
    const testSite = await site({ ...NO_FAULTS, cookieCheck: 'sameUrl' });
    const url = `${testSite.url}/page/7?x=1`;
    const first = await request(url);
    await first.body.dump();
    expect(first.statusCode).toBe(302);
    expect(new URL(String(first.headers.location), url).href).toBe(url);
    const cookie = String(first.headers['set-cookie']).split(';')[0] ?? '';
    expect(cookie).toMatch(/^sid=/);
    const second = await request(url, { headers: { cookie } });
    expect(second.statusCode).toBe(200);
    expect(await second.body.text()).toContain('<title>Page 7</title>');
    // Without the cookie it redirects again: a client that drops it loops.
    const again = await request(url);
    await again.body.dump();
    expect(again.statusCode).toBe(302);
    expect(testSite.stats.cookieChecks).toBe(2);
    expect(testSite.stats.cookiesNotKept).toBe(0);
  });

  it("keeps the '?__cc=1' check by default and rejects other values", async () => {
    const testSite = await site({ ...NO_FAULTS });
    const first = await request(`${testSite.url}/page/1`);
    await first.body.dump();
    expect(first.headers.location).toBe('/page/1?__cc=1');
    await expect(startTestSite({ cookieCheck: 'never' as never })).rejects.toThrow(InvalidOptionError);
    await expect(startTestSite({ cookieCheck: 'never' as never })).rejects.toThrow(/cookieCheck/);
  });
});
