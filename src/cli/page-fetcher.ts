/**
 * How the demo fetches a page: through `pool.fetch`, which does the session work (cookies across redirects, the
 * captcha check, Retry-After cool-downs, rotation to another session after a block or failure).
 */
import type { SessionPool } from '../session-pool.js';
import type { PageFetcher } from './crawl.js';

export function pageFetcherFor(pool: SessionPool): PageFetcher {
  return async (url, signal) => {
    const response = await pool.fetch(url, { signal });
    return {
      url: response.url,
      statusCode: response.statusCode,
      body: response.text(),
      attempts: response.attempts,
    };
  };
}
