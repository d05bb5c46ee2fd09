/**
 * Part 3, end-to-end crawl on loopback against the bundled test site (in its own process): requests per second
 * and client CPU time per request, `concurrency` requests in flight over `sessions` sessions, every contender on
 * undici + tough-cookie with one agent and one jar per session:
 * - ours: `pool.fetch(url)` (cookies on every hop, outcome applied to the session machine);
 * - Crawlee: `SessionPool.getSession()`, the same undici + tough-cookie loop as the floor, then
 *   `retireOnBlockedStatusCodes` / `markGood` / `markBad` as a Crawlee crawler does;
 * - floor: bare undici, one jar per session, sessions taken round-robin, no pool logic; like the pools, it replaces
 *   a session's jar and agent after `maxUsageCount` uses (50 in the plain crawl, Crawlee's default; 7 in churn).
 * Part 4's write-through overhead is measured here too: ours again, with a file store in write-through mode.
 * The churn row runs 50 requests in flight with `maxUsageCount: 7` (sessions used up and replaced all the time,
 * through reserved uses in ours), and the row after it records the most requests one session served there.
 *
 * The site requires its session cookie (a 302 cookie check on each session's first visit) and sends 10% of
 * links through cookie-setting redirects; bans, 429s, captchas, errors and slow responses are off, so every
 * contender does the same work.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Session as InspectorSession } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Configuration, SessionPool as CrawleeSessionPool } from '@crawlee/core';
import { CookieJar } from 'tough-cookie';
import { AgentPerSession, type BaselineResponse, fetchWithJar } from '../lib/baseline-http.js';
import { CONTENDERS, type ContenderName } from '../lib/contenders.js';
import { NO_FAULTS, SessionPool } from '../lib/library.js';
import { timed } from '../lib/measure.js';
import { summarize } from '../lib/profile-summary.js';
import { addSample, newRow, type Part } from '../lib/protocol.js';
import { collectGarbage, rotate } from '../lib/stats.js';

const SITE_OPTIONS = {
  seed: 7,
  pages: 5000,
  ...NO_FAULTS,
  redirectRate: 0.1,
  requireCookies: true,
};

/** The plain crawl's `maxUsageCount` for every contender (the floor too): Crawlee's default, the same work for all. */
const PLAIN_USAGE_LIMIT = 50;
const PROFILE_TOP = 15;

type Fetcher = {
  get(url: string): Promise<BaselineResponse>;
  close(): Promise<void>;
  /** Requests served per session id. */
  uses: Map<string, number>;
};

function countUse(uses: Map<string, number>, id: string): void {
  uses.set(id, (uses.get(id) ?? 0) + 1);
}
type Variant = ContenderName | 'ours-write-through';

async function startSite(): Promise<{ url: string; stop(): void }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(import.meta.dirname, '..', 'lib', 'site-process.ts'),
      JSON.stringify(SITE_OPTIONS),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      const match = /SITE_URL (\S+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    child.on('exit', (code) => reject(new Error(`test site exited (${code}) before listening`)));
  });
  return { url, stop: () => child.stdin.end() };
}

async function openFetcher(
  variant: Variant,
  sessions: number,
  stateDir: string,
  maxUsageCount?: number,
): Promise<Fetcher> {
  const uses = new Map<string, number>();
  const sessionOptions = maxUsageCount === undefined ? {} : { maxUsageCount };
  if (variant === 'ours' || variant === 'ours-write-through') {
    const pool = await SessionPool.open({
      maxPoolSize: sessions,
      sessionOptions,
      ...(variant === 'ours-write-through'
        ? {
            store: 'file',
            persistStateDir: stateDir,
            persistenceMode: 'write-through',
            persistStateIntervalMillis: 0,
          }
        : {}),
    });
    return {
      get: async (url) => {
        const response = await pool.fetch(url);
        countUse(uses, response.session.id);
        return response;
      },
      close: () => pool.teardown(),
      uses,
    };
  }
  const agents = new AgentPerSession();
  if (variant === 'crawlee') {
    const pool = await CrawleeSessionPool.open(
      { maxPoolSize: sessions, sessionOptions, persistenceOptions: { enable: false } },
      new Configuration({ persistStorage: false }),
    );
    return {
      get: async (url) => {
        const session = await pool.getSession();
        countUse(uses, session.id);
        try {
          const response = await fetchWithJar(agents.get(session.id), session.cookieJar, url);
          if (!session.retireOnBlockedStatusCodes(response.statusCode)) {
            if (response.statusCode >= 500) session.markBad();
            else session.markGood();
          }
          return response;
        } catch (error) {
          session.markBad();
          throw error;
        }
      },
      close: async () => {
        await pool.teardown({ persistState: false });
        await agents.close();
      },
      uses,
    };
  }
  // The floor: sessions round-robin; with a usage limit, a session's jar and agent are replaced after that many.
  const jars = Array.from({ length: sessions }, () => new CookieJar());
  const generation = new Array<number>(sessions).fill(0);
  const used = new Array<number>(sessions).fill(0);
  let next = 0;
  return {
    get: (url) => {
      const index = next++ % sessions;
      if (maxUsageCount !== undefined && used[index] === maxUsageCount) {
        used[index] = 0;
        generation[index] = (generation[index] ?? 0) + 1;
        jars[index] = new CookieJar();
      }
      used[index] = (used[index] ?? 0) + 1;
      const id = `${index}.${generation[index]}`;
      countUse(uses, id);
      return fetchWithJar(agents.get(id), jars[index]!, url);
    },
    close: () => agents.close(),
    uses,
  };
}

/**
 * One more crawl of ours, under V8's sampling profiler: the functions with the most self and total time, so the
 * next gap to the floor is visible without a profiler session.
 */
async function profileOurCrawl(
  base: string,
  sessions: number,
  concurrency: number,
  requests: number,
): Promise<string> {
  const fetcher = await openFetcher('ours', sessions, '', PLAIN_USAGE_LIMIT);
  const profiler = new InspectorSession();
  profiler.connect();
  try {
    await crawl(fetcher, base, Math.min(requests, sessions * 3), concurrency, 0);
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
    await crawl(fetcher, base, requests, concurrency, 900_000);
    const { profile } = await profiler.post('Profiler.stop');
    return `pool.fetch, ${requests.toLocaleString('en')} requests (V8 CPU profile, top frames)\n${summarize(profile, PROFILE_TOP)}`;
  } finally {
    profiler.disconnect();
    await fetcher.close();
  }
}

/** `count` requests, `concurrency` at a time, over a fixed walk of the site's pages. */
async function crawl(fetcher: Fetcher, base: string, count: number, concurrency: number, offset: number) {
  let issued = 0;
  let ok = 0;
  const worker = async () => {
    while (issued < count) {
      const n = offset + issued++;
      const response = await fetcher.get(`${base}/page/${(n * 7919) % SITE_OPTIONS.pages}`);
      if (response.statusCode === 200 && response.body.length > 0) ok += 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (ok < count * 0.99) throw new Error(`only ${ok} of ${count} requests got a page`);
}

export const run: Part = async ({ quick, args }) => {
  const rounds = Number(args.rounds ?? (quick ? 1 : 5));
  const requests = Number(args.requests ?? (quick ? 300 : 4000));
  const concurrency = Number(args.concurrency ?? 32);
  const sessions = Number(args.sessions ?? 100);
  const rps = newRow(
    'crawl.rps',
    `end-to-end crawl, ${concurrency} in flight, ${sessions} sessions`,
    'req/s',
    'higher',
  );
  const cpu = newRow('crawl.cpu', 'client CPU time per request', 'µs/req', 'lower');
  const writeThrough = newRow(
    'crawl.rps.writeThrough',
    'end-to-end crawl, ours with a write-through file store',
    'req/s',
    'higher',
    "ours column: pool.fetch with persistenceMode 'write-through' to a file store; compare with the plain crawl row.",
  );
  const churnConcurrency = 50;
  const churnLimit = 7;
  const churn = newRow(
    'crawl.rps.churn',
    `end-to-end crawl, ${churnConcurrency} in flight, maxUsageCount ${churnLimit} (sessions used up and replaced)`,
    'req/s',
    'higher',
  );
  const mostUses = newRow(
    'crawl.churn.maxUses',
    `most requests one session served in the churn crawl (limit ${churnLimit})`,
    'requests',
    'lower',
    'ours reserves a use per request in flight; Crawlee counts uses when outcomes come back.',
  );
  const site = await startSite();
  const stateRoot = mkdtempSync(join(tmpdir(), 'bench-crawl-'));
  try {
    for (let round = 0; round < rounds; round += 1) {
      for (const variant of rotate(CONTENDERS, round)) {
        const fetcher = await openFetcher(
          variant,
          sessions,
          join(stateRoot, `churn-${variant}-${round}`),
          churnLimit,
        );
        await crawl(fetcher, site.url, Math.min(requests, sessions * 3), churnConcurrency, 0);
        collectGarbage();
        fetcher.uses.clear();
        const elapsed = await timed(() =>
          crawl(fetcher, site.url, requests, churnConcurrency, 200_000 * (round + 1)),
        );
        await fetcher.close();
        addSample(churn, variant, {
          wall: (requests / elapsed.wallMs) * 1000,
          cpu: (requests / elapsed.cpuMs) * 1000,
        });
        const most = Math.max(0, ...fetcher.uses.values());
        addSample(mostUses, variant, { wall: most, cpu: most });
      }
    }
    const variants: Variant[] = [...CONTENDERS, 'ours-write-through'];
    for (let round = 0; round < rounds; round += 1) {
      for (const variant of rotate(variants, round)) {
        const fetcher = await openFetcher(
          variant,
          sessions,
          join(stateRoot, `${variant}-${round}`),
          PLAIN_USAGE_LIMIT,
        );
        await crawl(fetcher, site.url, Math.min(requests, sessions * 3), concurrency, 0);
        collectGarbage();
        const elapsed = await timed(() =>
          crawl(fetcher, site.url, requests, concurrency, 100_000 * (round + 1)),
        );
        await fetcher.close();
        const perSecond = {
          wall: (requests / elapsed.wallMs) * 1000,
          cpu: (requests / elapsed.cpuMs) * 1000,
        };
        const name: ContenderName = variant === 'ours-write-through' ? 'ours' : variant;
        addSample(variant === 'ours-write-through' ? writeThrough : rps, name, perSecond);
        if (variant !== 'ours-write-through') {
          const micros = (elapsed.cpuMs * 1000) / requests;
          addSample(cpu, name, { wall: micros, cpu: micros });
        }
      }
    }
    rps.details = await profileOurCrawl(site.url, sessions, concurrency, quick ? 300 : requests);
  } finally {
    site.stop();
    rmSync(stateRoot, { recursive: true, force: true });
  }
  return [rps, cpu, writeThrough, churn, mostUses];
};
