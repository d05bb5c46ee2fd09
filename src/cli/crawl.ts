/**
 * A small breadth-first crawler: `concurrency` workers take URLs from a frontier, fetch them through the pool and
 * queue the same-origin links they find, until `maxPages` pages are done, the site has no more, or `signal`
 * aborts (the pages in flight are then finished or abandoned, never half-counted).
 */
import { getMaxListeners, setMaxListeners } from 'node:events';

/** A page as the crawler needs it. */
export interface FetchedPage {
  url: string;
  statusCode: number;
  body: string;
  /** Sessions tried for this page (1 when the first try succeeded). */
  attempts: number;
}

/** Fetches one page through the pool; rejects when the page is given up (rotations exhausted). */
export type PageFetcher = (url: string, signal: AbortSignal) => Promise<FetchedPage>;

export interface CrawlOptions {
  startUrl: string;
  maxPages: number;
  concurrency: number;
  /** Pause of each worker between two requests, in ms. */
  delayMs: number;
  signal: AbortSignal;
  fetchPage: PageFetcher;
  /** Called after each page, done or failed. */
  onPage?: (page: { url: string; ok: boolean; attempts: number; error?: unknown }) => void;
}

export interface CrawlResult {
  pagesOk: number;
  pagesFailed: number;
  /** Sessions tried over all pages. */
  attempts: number;
  /** Why pages were given up: error code (or name) → count. */
  failures: Record<string, number>;
  durationMs: number;
  interrupted: boolean;
}

const LINK = /href="([^"#]+)"/g;

function errorCode(error: unknown): string {
  if (error && typeof error === 'object') {
    const { code, name } = error as { code?: unknown; name?: unknown };
    if (typeof code === 'string') return code;
    if (typeof name === 'string') return name;
  }
  return 'Error';
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

export async function crawl(options: CrawlOptions): Promise<CrawlResult> {
  const { signal, maxPages } = options;
  const origin = new URL(options.startUrl).origin;
  const frontier: string[] = [options.startUrl];
  let head = 0;
  const seen = new Set<string>([new URL(options.startUrl).pathname]);
  const result: CrawlResult = {
    pagesOk: 0,
    pagesFailed: 0,
    attempts: 0,
    failures: {},
    durationMs: 0,
    interrupted: false,
  };
  const started = performance.now();
  let startedPages = 0;
  let inFlight = 0;
  // Workers with an empty frontier wait here until a page in flight adds links or the crawl ends.
  let wake: (() => void) | undefined;
  let woken: Promise<void> = new Promise((resolve) => {
    wake = resolve;
  });
  const notify = () => {
    wake?.();
    woken = new Promise((resolve) => {
      wake = resolve;
    });
  };
  // Every request in flight listens to the signal; that many listeners is expected, not a leak.
  setMaxListeners(Math.max(getMaxListeners(signal), options.concurrency * 2 + 10), signal);
  const onAbort = () => notify();
  signal.addEventListener('abort', onAbort, { once: true });

  const enqueueLinks = (page: FetchedPage) => {
    for (const match of page.body.matchAll(LINK)) {
      let link: URL;
      try {
        link = new URL(match[1]!, page.url);
      } catch {
        continue;
      }
      if (link.origin !== origin || seen.has(link.pathname)) continue;
      seen.add(link.pathname);
      frontier.push(`${origin}${link.pathname}`);
    }
    // The frontier only needs what the remaining pages can use; drop the consumed prefix now and then.
    if (head > 4096 && head * 2 > frontier.length) {
      frontier.splice(0, head);
      head = 0;
    }
  };

  const worker = async () => {
    while (!signal.aborted && startedPages < maxPages) {
      if (head >= frontier.length) {
        if (inFlight === 0) return;
        await woken;
        continue;
      }
      const url = frontier[head++]!;
      startedPages += 1;
      inFlight += 1;
      try {
        const page = await options.fetchPage(url, signal);
        result.attempts += page.attempts;
        result.pagesOk += 1;
        enqueueLinks(page);
        options.onPage?.({ url, ok: true, attempts: page.attempts });
      } catch (error) {
        if (signal.aborted) {
          startedPages -= 1; // abandoned, not failed
        } else {
          result.pagesFailed += 1;
          const code = errorCode(error);
          result.failures[code] = (result.failures[code] ?? 0) + 1;
          const attempts = (error as { attempts?: unknown })?.attempts;
          result.attempts += Array.isArray(attempts) ? attempts.length : 1;
          options.onPage?.({ url, ok: false, attempts: 1, error });
        }
      } finally {
        inFlight -= 1;
        notify();
      }
      await sleep(options.delayMs, signal);
    }
  };

  await Promise.all(Array.from({ length: options.concurrency }, worker));
  signal.removeEventListener('abort', onAbort);
  result.durationMs = performance.now() - started;
  result.interrupted = signal.aborted;
  return result;
}
