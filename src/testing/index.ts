/**
 * The bundled test site: a real HTTP server on 127.0.0.1 with the bot protection crawlers meet (cookie checks,
 * captchas, blocks, rate limits, errors) at rates you choose, for tests, demos and benchmarks without network.
 * No peer dependency.
 *
 * @example
 * ```ts
 * import { SessionPool } from 'session-supervisor';
 * import { isCaptchaPage, startTestSite } from 'session-supervisor/testing';
 *
 * const site = await startTestSite({ seed: 1 });
 * const pool = await SessionPool.open({ maxPoolSize: 5 });
 * const response = await pool.fetch(`${site.url}/page/1`);
 * console.log(response.statusCode, isCaptchaPage(response.body));
 * await pool.teardown();
 * await site.close();
 * ```
 *
 * @packageDocumentation
 */
export {
  CAPTCHA_MARKER,
  isCaptchaPage,
  NO_FAULTS,
  startTestSite,
  type TestSite,
  type TestSiteOptions,
  type TestSiteStats,
} from './test-site.js';
