/**
 * `session-supervisor demo`: starts the bundled test site, crawls it through a session pool, shows progress,
 * saves the pool's state, and prints a summary. Optional: the live dashboard and the XState inspector.
 */
import type { Dashboard } from '../dashboard/server.js';
import { startDashboard } from '../dashboard/server.js';
import type { SessionPool } from '../session-pool.js';
import { startTestSite, type TestSite } from '../testing/test-site.js';
import type { DemoArgs } from './args.js';
import { crawl } from './crawl.js';
import { openDemoPool } from './demo-pool.js';
import { pageFetcherFor } from './page-fetcher.js';
import { Progress, type ProgressOutput, sessionsByState } from './progress.js';
import { type DemoSummary, formatSummary } from './summary.js';

export interface DemoIo {
  stdout: ProgressOutput;
  stderr: { write(text: string): unknown };
  /** Aborted on Ctrl-C: the crawl stops, the state is saved, the summary is printed. */
  signal: AbortSignal;
}

/** Exit code 0 when done, 130 when interrupted. */
export async function runDemo(args: DemoArgs, io: DemoIo): Promise<number> {
  const { stderr, signal } = io;
  // With --json, stdout carries the summary alone: everything else goes to stderr.
  const info = args.json ? stderr : io.stdout;
  const stdout = io.stdout;
  const site: TestSite = await startTestSite({
    seed: args.seed,
    // Enough pages that the crawl never runs dry before --pages.
    pages: Math.max(2000, args.pages * 2),
    blockAfter: 60,
    blockRate: 0.006,
    rateLimitRate: 0.015,
    retryAfterSecs: 1,
    captchaRate: 0.006,
    errorRate: 0.02,
    slowRate: 0.02,
    slowMs: 150,
    redirectRate: 0.15,
  });
  const cleanups: Array<() => Promise<unknown>> = [() => site.close()];
  try {
    let inspectUrl: string | undefined;
    let inspect: Parameters<typeof openDemoPool>[1]['inspect'];
    if (args.inspect) {
      // Loaded only for --inspect: its peers (@statelyai/inspect, ws) are optional for users of the CLI.
      const { startInspector } = await import('../inspect/index.js');
      const inspector = await startInspector();
      cleanups.unshift(() => inspector.close());
      inspect = inspector.inspect;
      inspectUrl = inspector.url;
    }
    const { pool, stateFile, saveState, restored } = await openDemoPool(args, { inspect });
    cleanups.unshift(() => pool.teardown());

    const retiredByReason: Record<string, number> = {};
    pool.on('sessionRetired', ({ reason }) => {
      retiredByReason[reason] = (retiredByReason[reason] ?? 0) + 1;
    });
    let created = 0;
    pool.on('sessionCreated', () => {
      created += 1;
    });

    let dashboard: Dashboard | undefined;
    if (args.dashboard) {
      dashboard = await startDashboard(pool, { port: args.dashboardPort, title: 'session-supervisor demo' });
      const fallback = dashboard.portFellBack ? ` (port ${args.dashboardPort} was busy)` : '';
      info.write(`Dashboard: ${dashboard.url}${fallback}\n`);
      cleanups.unshift(() => dashboard!.close());
    }
    if (inspectUrl)
      info.write(`Inspector: ${inspectUrl} (the inspector UI itself is served by stately.ai)\n`);
    info.write(
      `Crawling ${args.pages} pages of the test site at ${site.url} with up to ${args.sessions} sessions` +
        `${restored > 0 ? ` (${restored} restored from ${stateFile})` : ''}\n`,
    );

    let pagesOk = 0;
    let pagesFailed = 0;
    const progress = new Progress(
      args.json ? { write: (text) => stderr.write(text) } : stdout,
      pool,
      args.pages,
      () => ({ pagesOk, pagesFailed, retired: sumOf(retiredByReason) }),
    );
    progress.start();
    const result = await crawl({
      startUrl: `${site.url}/`,
      maxPages: args.pages,
      concurrency: args.concurrency,
      delayMs: args.delayMs,
      signal,
      fetchPage: pageFetcherFor(pool),
      onPage: ({ ok }) => {
        if (ok) pagesOk += 1;
        else pagesFailed += 1;
      },
    });
    progress.tick();
    progress.stop();
    dashboard?.end();

    const savedTo = await saveState().catch((error: unknown) => {
      stderr.write(
        `Could not save the pool's state: ${error instanceof Error ? error.message : String(error)}\n`,
      );
      return null;
    });
    const summary = summarize(args, result, pool, site, {
      restored,
      created,
      retiredByReason,
      stateFile: savedTo,
    });
    stdout.write(`${args.json ? JSON.stringify(summary, null, 2) : formatSummary(summary)}\n`);

    if (dashboard && args.hold && !signal.aborted) {
      info.write(`Crawl finished; the dashboard stays at ${dashboard.url} until Ctrl-C.\n`);
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      return 0;
    }
    return result.interrupted ? 130 : 0;
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  }
}

function summarize(
  args: DemoArgs,
  result: Awaited<ReturnType<typeof crawl>>,
  pool: SessionPool,
  site: TestSite,
  extra: {
    restored: number;
    created: number;
    retiredByReason: Record<string, number>;
    stateFile: string | null;
  },
): DemoSummary {
  const done = result.pagesOk + result.pagesFailed;
  let cookies = 0;
  let alive = 0;
  for (const session of pool.sessions()) {
    alive += 1;
    cookies += session.cookieJar.serializeSync()?.cookies.length ?? 0;
  }
  const guarded = site.stats.requestsWithCookie + site.stats.cookieChecks + site.stats.cookiesNotKept;
  return {
    interrupted: result.interrupted,
    pages: {
      target: args.pages,
      ok: result.pagesOk,
      failed: result.pagesFailed,
      successRate: done === 0 ? 0 : result.pagesOk / done,
    },
    failures: result.failures,
    attempts: result.attempts,
    durationMs: result.durationMs,
    pagesPerSecond: result.durationMs > 0 ? done / (result.durationMs / 1000) : 0,
    sessions: {
      restored: extra.restored,
      created: extra.created,
      retired: sumOf(extra.retiredByReason),
      retiredByReason: extra.retiredByReason,
      alive,
      aliveByState: sessionsByState(pool),
    },
    cookies: {
      kept: cookies,
      requestsWithCookieRate: guarded === 0 ? 0 : site.stats.requestsWithCookie / guarded,
      redirectCookiesLost: site.stats.redirectCookiesMissing,
    },
    site: {
      requests: site.stats.requests,
      byStatus: { ...site.stats.byStatus },
      visitorsCreated: site.stats.visitorsCreated,
      invalidCookies: site.stats.invalidCookies,
    },
    stateFile: extra.stateFile,
    stats: pool.stats(),
  };
}

function sumOf(counts: Record<string, number>): number {
  return Object.values(counts).reduce((sum, count) => sum + count, 0);
}
