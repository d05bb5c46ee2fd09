/**
 * Migration from Crawlee: converts the JSON Crawlee's `SessionPool` persists (`SDK_SESSION_POOL_STATE`, or
 * `CRAWLEE_SESSION_POOL_STATE`) into our saved-session records, so a running crawl keeps its sessions, cookies,
 * scores and deadlines when it switches libraries.
 */
import { CorruptStateError, InvalidSavedSessionError } from '../errors.js';
import { validateSessionRecord } from './document.js';
import type { PersistedSessionRecord } from './types.js';

/** One session as Crawlee's `Session.getState()` returns it. */
export interface CrawleeSessionState {
  id: string;
  /** tough-cookie's serialized jar. */
  cookieJar?: { cookies?: unknown[] } | null;
  userData?: Record<string, unknown>;
  errorScore: number;
  maxErrorScore: number;
  errorScoreDecrement: number;
  /** ISO 8601. */
  expiresAt: string;
  /** ISO 8601. */
  createdAt: string;
  usageCount: number;
  /** Absent in states written by old Crawlee/Apify SDK releases; Crawlee's default (50) applies then. */
  maxUsageCount?: number;
}

/** Crawlee's persisted `SessionPool` state. */
export interface CrawleeSessionPoolState {
  usableSessionsCount?: number;
  retiredSessionsCount?: number;
  sessions: CrawleeSessionState[];
}

export interface ConvertCrawleeStateOptions {
  /** Status codes that block the imported sessions (Crawlee keeps them per pool, not per session). */
  blockedStatusCodes: readonly number[];
  /** Named in errors. Default `Crawlee state`. */
  source?: string;
}

const CRAWLEE_DEFAULT_MAX_USAGE_COUNT = 50;

function isoToMillis(value: unknown, source: string, id: string, field: string): number {
  const millis = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(millis)) {
    throw new InvalidSavedSessionError(
      source,
      id,
      field,
      `expected an ISO 8601 date, got ${JSON.stringify(value)}`,
    );
  }
  return millis;
}

/**
 * Converts Crawlee's persisted pool state (an object, or its JSON text) into saved-session records. Throws
 * `CorruptStateError` for text that is not JSON or not that shape, `InvalidSavedSessionError` naming the session
 * and the field for a bad session.
 */
export function convertCrawleeState(
  state: CrawleeSessionPoolState | string,
  options: ConvertCrawleeStateOptions,
): PersistedSessionRecord[] {
  const source = options.source ?? 'Crawlee state';
  let parsed: unknown = state;
  if (typeof state === 'string') {
    try {
      parsed = JSON.parse(state);
    } catch (error) {
      throw new CorruptStateError(source, `not valid JSON: ${(error as Error).message}`, { cause: error });
    }
  }
  const sessions = (parsed as { sessions?: unknown } | null)?.sessions;
  if (!Array.isArray(sessions)) {
    throw new CorruptStateError(
      source,
      'expected an object with a "sessions" array (Crawlee SessionPool state)',
    );
  }
  return sessions.map((raw, index) => {
    if (typeof raw !== 'object' || raw === null) {
      throw new CorruptStateError(source, `sessions[${index}] must be an object`);
    }
    const session = raw as Record<string, unknown>;
    const id = typeof session.id === 'string' && session.id.length > 0 ? session.id : `#${index}`;
    return validateSessionRecord(
      {
        id: session.id,
        createdAt: isoToMillis(session.createdAt, source, id, 'createdAt'),
        expiresAt: isoToMillis(session.expiresAt, source, id, 'expiresAt'),
        usageCount: session.usageCount,
        maxUsageCount: session.maxUsageCount ?? CRAWLEE_DEFAULT_MAX_USAGE_COUNT,
        errorScore: session.errorScore,
        maxErrorScore: session.maxErrorScore,
        errorScoreDecrement: session.errorScoreDecrement,
        blockedStatusCodes: [...options.blockedStatusCodes],
        blockedUntil: null,
        userData: session.userData ?? {},
        retirementReason: null,
        blockedStatusCode: null,
        bindings: null,
        cookieJar: session.cookieJar ?? null,
      },
      source,
      index,
    );
  });
}
