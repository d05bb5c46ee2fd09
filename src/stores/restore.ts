/**
 * Putting saved sessions back into a live pool: from our own stored document on `initialize()`, or from Crawlee's
 * persisted state on `importCrawleeState()`. The pool spawns them (one batch, so one spawn per shard) with their
 * restored cookie jars; each session then walks to the state its counters imply and re-arms its timers from the
 * absolute deadlines in its context.
 */
import type { SessionInput } from '../../machines/session.machine.js';
import type { Clock } from '../clock.js';
import { type CookieDrops, type CookieJar, type CookieLimits, restoreCookies } from '../cookies.js';
import type { CookieRejection, Session } from '../session.js';
import { type CrawleeSessionPoolState, convertCrawleeState } from './crawlee.js';
import type { PersistErrorEvent, StatePersistedEvent } from './events.js';
import type { PersistedPoolRecord, PersistedSessionRecord } from './types.js';

/** Result of `importCrawleeState()`. */
export interface CrawleeImportResult {
  /** Ids of the imported sessions now alive in the pool. */
  imported: string[];
  /** Imported sessions that retired at once (expired or used up in Crawlee), each with `sessionRetired`. */
  retired: number;
  /** Ids not imported: the pool was full or already had a session with that id. */
  rejected: string[];
  /**
   * Cookies left out of imported sessions' jars, per session id (sessions that lost none are not listed):
   * evicted by `maxCookiesPerDomain` / `maxCookiesPerSession`, or refused (a public-suffix domain).
   */
  cookiesDropped: Record<string, CookieDrops>;
}

/** What persistence needs from its pool. */
export interface PersistenceHost {
  readonly clock: Clock;
  readonly cookieLimits: CookieLimits;
  readonly blockedStatusCodes: readonly number[];
  session(id: string): Session | undefined;
  sessions(): Iterable<Session>;
  counters(): PersistedPoolRecord;
  setCounters(counters: PersistedPoolRecord): void;
  /** Spawns the sessions in one batch with their jars; returns the ids the pool did not accept. */
  adopt(inputs: SessionInput[], jars: Map<string, CookieJar>): string[];
  persistError(event: PersistErrorEvent): void;
  /**
   * A cookie could not be written (a date that is no date, put into the jar by hand) and was removed from its jar;
   * the pool reports it as `cookieRejected`. Optional: without it the cookie is dropped silently.
   */
  cookieDropped?(rejection: CookieRejection): void;
  statePersisted(event: StatePersistedEvent): void;
}

export interface AdoptResult {
  alive: string[];
  retired: number;
  dropped: string[];
  /** Cookies left out of the restored jars, per session id (only sessions that lost some). */
  cookiesDropped: Record<string, CookieDrops>;
}

/**
 * Spawns saved sessions in one batch with their restored jars. Sessions already retired, or past their deadline,
 * retire at once (with `sessionRetired`); the others walk to the state their counters imply and re-arm their
 * timers from the absolute deadlines in their context.
 */
export function adoptRecords(records: readonly PersistedSessionRecord[], host: PersistenceHost): AdoptResult {
  const now = host.clock.now();
  const inputs: SessionInput[] = [];
  const jars = new Map<string, CookieJar>();
  const retireNow: Array<[string, NonNullable<PersistedSessionRecord['retirementReason']>]> = [];
  const cookiesDropped: Record<string, CookieDrops> = {};
  for (const record of records) {
    const { state: _derived, cookieJar, ...context } = record;
    inputs.push(context as unknown as SessionInput);
    const restored = restoreCookies(cookieJar, host.cookieLimits);
    jars.set(record.id, restored.jar);
    if (restored.dropped.count > 0) cookiesDropped[record.id] = restored.dropped;
    if (record.retirementReason !== null) retireNow.push([record.id, record.retirementReason]);
    else if (record.expiresAt <= now) retireNow.push([record.id, 'expired']);
  }
  const retiredBefore = host.counters().retiredCount;
  const dropped = host.adopt(inputs, jars);
  const droppedSet = new Set(dropped);
  // XState does not run a zero-delay timer synchronously (nor at all on a SimulatedClock that does not move).
  for (const [id, reason] of retireNow) {
    if (!droppedSet.has(id)) host.session(id)?.send({ type: 'session.retire', reason });
  }
  const alive = inputs.map((input) => input.id).filter((id) => !droppedSet.has(id) && host.session(id));
  for (const id of dropped) delete cookiesDropped[id];
  return { alive, retired: host.counters().retiredCount - retiredBefore, dropped, cookiesDropped };
}

/** Imports Crawlee's persisted pool state into a running pool (see `SessionPool.importCrawleeState`). */
export function importCrawleeSessions(
  state: CrawleeSessionPoolState | string,
  host: PersistenceHost,
): CrawleeImportResult {
  const records = convertCrawleeState(state, { blockedStatusCodes: host.blockedStatusCodes });
  const result = adoptRecords(records, host);
  return {
    imported: result.alive,
    retired: result.retired,
    rejected: result.dropped,
    cookiesDropped: result.cookiesDropped,
  };
}
