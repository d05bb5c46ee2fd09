/**
 * Runs the bundled test site in its own process, so the crawl's CPU time measures the client alone. Prints
 * `SITE_URL <url>` once listening; exits when its parent closes stdin (or dies).
 *
 *   node --import tsx bench/lib/site-process.ts '<TestSiteOptions as JSON>'
 */
import type { TestSiteOptions } from '../../src/testing/index.js';
import { startTestSite } from './library.js';

const options = JSON.parse(process.argv[2] ?? '{}') as TestSiteOptions;
const site = await startTestSite({ ...options, port: 0 });
process.stdout.write(`SITE_URL ${site.url}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void site.close().finally(() => process.exit(0));
});
