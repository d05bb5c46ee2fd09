/** The demo's closing summary, as an aligned table or as JSON. */
import type { PoolStats } from '../pool-stats.js';

export interface DemoSummary {
  interrupted: boolean;
  pages: { target: number; ok: number; failed: number; successRate: number };
  /** Why pages were given up: error code → count. */
  failures: Record<string, number>;
  /** Sessions tried over all pages (a retry on another session counts once more). */
  attempts: number;
  durationMs: number;
  pagesPerSecond: number;
  sessions: {
    /** Sessions restored alive from the state saved by the previous run. */
    restored: number;
    created: number;
    retired: number;
    retiredByReason: Record<string, number>;
    alive: number;
    aliveByState: Record<string, number>;
  };
  cookies: {
    /** Cookies in the jars of the live sessions at the end. */
    kept: number;
    /** Share of the site's guarded requests that came with a valid session cookie. */
    requestsWithCookieRate: number;
    /** Arrivals from a redirect that lost the cookie set on the 302. */
    redirectCookiesLost: number;
  };
  site: {
    requests: number;
    byStatus: Record<string, number>;
    /** Session cookies the site issued (one per session that arrived without one). */
    visitorsCreated: number;
    /** Session cookies the site did not recognise. */
    invalidCookies: number;
  };
  /** Where the pool's state was saved, if it was. */
  stateFile: string | null;
  /** `pool.stats()` at the end of the crawl. */
  stats: PoolStats;
}

function percent(rate: number): string {
  return `${(rate * 100).toFixed(1)} %`;
}

function listCounts(counts: Record<string, number>): string {
  const entries = Object.entries(counts).filter(([, count]) => count > 0);
  return entries.length === 0 ? 'none' : entries.map(([key, count]) => `${key} ${count}`).join(', ');
}

/** The pool's counters (scrapy-zyte-api's names) and its released uses by outcome. */
function statRows(stats: PoolStats): Array<[string, string]> {
  const counters = Object.entries(stats).filter(
    (entry): entry is [string, number] => typeof entry[1] === 'number',
  );
  const { good, bad, aborted, unused } = stats.uses;
  return [
    ['Pool counters', counters.map(([name, count]) => `${name} ${count}`).join(', ')],
    ['Uses released', `good ${good}, bad ${bad}, aborted ${aborted}, unused ${unused}`],
  ];
}

/** The summary as an aligned two-column table. */
export function formatSummary(summary: DemoSummary): string {
  const rows: Array<[string, string]> = [
    ['Pages', `${summary.pages.ok + summary.pages.failed} of ${summary.pages.target}`],
    ['  ok', String(summary.pages.ok)],
    [
      '  failed',
      summary.pages.failed === 0 ? '0' : `${summary.pages.failed} (${listCounts(summary.failures)})`,
    ],
    ['Success rate', percent(summary.pages.successRate)],
    [
      'Sessions tried per page',
      (summary.attempts / Math.max(1, summary.pages.ok + summary.pages.failed)).toFixed(2),
    ],
    [
      'Duration',
      `${(summary.durationMs / 1000).toFixed(1)} s (${summary.pagesPerSecond.toFixed(0)} pages/s)`,
    ],
    ['Sessions restored', String(summary.sessions.restored)],
    ['Sessions created', String(summary.sessions.created)],
    ['Sessions retired', String(summary.sessions.retired)],
  ];
  const reasons = Object.entries(summary.sessions.retiredByReason).sort((a, b) => b[1] - a[1]);
  for (const [reason, count] of reasons) rows.push([`  ${reason}`, String(count)]);
  rows.push(
    ['Sessions alive', `${summary.sessions.alive} (${listCounts(summary.sessions.aliveByState)})`],
    ['Cookies kept', `${summary.cookies.kept} in live sessions' jars`],
    ['Requests with session cookie', percent(summary.cookies.requestsWithCookieRate)],
    ['Redirect cookies lost', String(summary.cookies.redirectCookiesLost)],
    ['Site responses', `${summary.site.requests} (${listCounts(summary.site.byStatus)})`],
    ...statRows(summary.stats),
    ['State saved to', summary.stateFile ?? 'not saved'],
  );
  const width = Math.max(...rows.map(([key]) => key.length));
  const valueWidth = Math.max(...rows.map(([, value]) => value.length));
  const rule = `+${'-'.repeat(width + 2)}+${'-'.repeat(valueWidth + 2)}+`;
  const title = summary.interrupted ? 'Demo crawl interrupted (Ctrl-C)' : 'Demo crawl summary';
  const body = rows.map(([key, value]) => `| ${key.padEnd(width)} | ${value.padEnd(valueWidth)} |`);
  return [title, rule, ...body, rule].join('\n');
}
