/**
 * Use the bundled test site in your own tests or benchmarks: a guarded site on 127.0.0.1 with a seeded link graph.
 * Run: `npx tsx examples/test-site-crawl.ts`.
 */
import { request } from 'undici';
import { SessionPool } from '../src/session-pool.js';
import { isCaptchaPage, startTestSite } from '../src/testing/test-site.js';

const site = await startTestSite({ seed: 42, blockAfter: 20, captchaRate: 0.02, rateLimitRate: 0 });
const pool = await SessionPool.open({ maxPoolSize: 5, blockedStatusCodes: [401, 403] });

for (let page = 0; page < 100; page += 1) {
  const session = await pool.getSession();
  let url = `${site.url}/page/${page}`;
  // Follow the site's cookie check by hand, keeping cookies set on the 302.
  for (let hop = 0; hop < 5; hop += 1) {
    const response = await request(url, { headers: { cookie: session.getCookieString(url) } });
    const body = await response.body.text();
    session.setCookiesFromResponse({ headers: response.headers, url });
    const location = response.headers.location;
    if (response.statusCode === 302 && typeof location === 'string') {
      url = new URL(location, url).href;
      continue;
    }
    if (session.retireOnBlockedStatusCodes(response.statusCode)) break;
    if (response.statusCode >= 500) session.markBad();
    else if (isCaptchaPage(body)) session.retire();
    else session.markGood();
    break;
  }
}

console.log('site stats:', site.stats);
console.log(`sessions retired: ${pool.retiredSessionsCount}, alive: ${pool.sessionsCount}`);
await pool.teardown();
await site.close();
