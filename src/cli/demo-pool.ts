/**
 * The demo's pool: Crawlee-like limits tuned so a short crawl shows every kind of retirement, the test site's
 * captcha page as the session check, and the state kept in `--state-dir` between runs (the file store).
 */
import { resolve } from 'node:path';
import type { InspectOption } from '../options.js';
import { SessionPool } from '../session-pool.js';
import type { StateRestoredEvent } from '../stores/events.js';
import { isCaptchaPage } from '../testing/site-pages.js';
import type { DemoArgs } from './args.js';

const STATE_KEY = 'demo-pool';

export interface DemoPool {
  pool: SessionPool;
  /** Absolute path of the state file. */
  stateFile: string;
  /** Sessions restored alive from the previous run. */
  restored: number;
  /** Writes the pool's state now; resolves to the file written. */
  saveState(): Promise<string>;
}

export async function openDemoPool(args: DemoArgs, extras: { inspect?: InspectOption }): Promise<DemoPool> {
  const pool = new SessionPool({
    maxPoolSize: args.sessions,
    sessionOptions: { maxUsageCount: 30, maxAgeSecs: 600, maxErrorScore: 3 },
    // A captcha page comes with status 200: only the body tells.
    sessionChecker: (_response, body) => body === undefined || !isCaptchaPage(body),
    // 429 + Retry-After parks the session until then instead of retiring it.
    retryAfterPolicy: 'coolDown',
    maxSessionRotations: 5,
    requestTimeoutMs: 10_000,
    store: 'file',
    persistStateDir: args.stateDir,
    persistStateKey: STATE_KEY,
    persistStateIntervalMillis: 5_000,
    // A state file a hand-edit broke is moved aside rather than stopping the demo.
    startFresh: true,
    ...(extras.inspect ? { inspect: extras.inspect } : {}),
  });
  let restored = 0;
  pool.on('stateRestored', (event: StateRestoredEvent) => {
    restored = event.restored;
  });
  if (args.fresh) await pool.resetStore();
  await pool.initialize();
  const stateFile = resolve(args.stateDir, `${STATE_KEY}.json`);
  return {
    pool,
    stateFile,
    restored,
    async saveState() {
      await pool.persistState();
      return stateFile;
    },
  };
}
