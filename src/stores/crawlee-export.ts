/**
 * The way back to Crawlee: our pool's state as the document Crawlee's own `SessionPool` persists and restores
 * (`SDK_SESSION_POOL_STATE`), so a crawl can move to Crawlee's pool (or hand its sessions to a Crawlee-based
 * tool) with ids, usage, scores, dates, userData and cookies. Crawlee validates each restored session against an
 * exact shape, so nothing else goes in: machine state, cool-downs, retirement reasons and bindings stay behind.
 */
import type { SerializedCookieJar } from 'tough-cookie';
import { InvalidOptionError } from '../errors.js';
import type { SessionState } from '../session.js';
import type { CrawleeSessionPoolState } from './crawlee.js';

/** One session as Crawlee's `Session.getState()` writes it (every field Crawlee restores, and no other). */
export interface CrawleeExportedSession {
  id: string;
  cookieJar: SerializedCookieJar;
  userData: Record<string, unknown>;
  errorScore: number;
  maxErrorScore: number;
  errorScoreDecrement: number;
  usageCount: number;
  maxUsageCount: number;
  /** ISO 8601. */
  expiresAt: string;
  /** ISO 8601. */
  createdAt: string;
}

/** Crawlee's persisted `SessionPool` state, as `exportCrawleeState` writes it. */
export interface CrawleeExportedPoolState extends CrawleeSessionPoolState {
  usableSessionsCount: number;
  retiredSessionsCount: number;
  sessions: CrawleeExportedSession[];
}

export interface ExportCrawleeStateOptions {
  /**
   * Also export sessions that are cooling down (`blocked` until a `Retry-After` passes). Crawlee has no cool-down
   * and would use them at once.
   * @defaultValue `true`
   */
  includeCoolingDown?: boolean;
}

/** What `exportCrawleeState` reads: `pool.getState()`, or a list of `session.getState()`. */
export type ExportableState = { sessions: readonly SessionState[] } | readonly SessionState[];

/** One session's state as Crawlee's `SessionState`: exactly the fields Crawlee accepts, copied. */
export function toCrawleeSession(state: SessionState, index = 0): CrawleeExportedSession {
  if (typeof state !== 'object' || state === null || typeof state.id !== 'string') {
    throw new InvalidOptionError(`sessions[${index}]`, 'expected a session state with an id');
  }
  return {
    id: state.id,
    // A copy: the document must not share the live context's objects.
    cookieJar: structuredClone(state.cookieJar),
    userData: structuredClone(state.userData ?? {}),
    errorScore: state.errorScore,
    maxErrorScore: state.maxErrorScore,
    errorScoreDecrement: state.errorScoreDecrement,
    usageCount: state.usageCount,
    maxUsageCount: state.maxUsageCount,
    expiresAt: state.expiresAt,
    createdAt: state.createdAt,
  };
}

/**
 * Our pool's state as Crawlee's `SessionPool` state document (`SDK_SESSION_POOL_STATE`). Store it under the
 * pool's `persistStateKey` in a Crawlee key-value store and Crawlee's `SessionPool.open()` restores the sessions
 * (Crawlee skips those it would not use: expired, blocked or used up). Retired sessions have already left the
 * pool and are not exported.
 * @example
 * ```ts
 * const store = await KeyValueStore.open('sessions');
 * await store.setValue('SDK_SESSION_POOL_STATE', exportCrawleeState(pool.getState()));
 * const crawleePool = await SessionPool.open({ persistStateKeyValueStoreId: store.id });
 * ```
 */
export function exportCrawleeState(
  state: ExportableState,
  options: ExportCrawleeStateOptions = {},
): CrawleeExportedPoolState {
  const list = Array.isArray(state) ? state : (state as { sessions?: unknown }).sessions;
  if (!Array.isArray(list)) {
    throw new InvalidOptionError('state', 'expected pool.getState() or an array of session states');
  }
  const includeCoolingDown = options.includeCoolingDown ?? true;
  const sessions = (list as SessionState[])
    .filter((session) => session?.state !== 'retired')
    .filter((session) => includeCoolingDown || session?.state !== 'blocked')
    .map(toCrawleeSession);
  const usable = sessions.filter(
    (session) =>
      session.errorScore < session.maxErrorScore &&
      session.usageCount < session.maxUsageCount &&
      Date.parse(session.expiresAt) > Date.now(),
  ).length;
  return { usableSessionsCount: usable, retiredSessionsCount: sessions.length - usable, sessions };
}
