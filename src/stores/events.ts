/**
 * Payloads of the persistence events a pool emits (`persistError`, `statePersisted`, `stateRestored`).
 */
import type { CookieDrops } from '../cookies.js';
import type { CorruptStateError, PersistWriteError, UnsupportedStateVersionError } from '../errors.js';

/** Payload of `persistError`: a write failed (the crawl goes on; the next write retries). */
export interface PersistErrorEvent {
  error: PersistWriteError;
  /** Where the state is kept. */
  location: string;
  /** Failed writes in a row (1 for the first). */
  attempt: number;
}

/** Payload of `statePersisted`: a write landed. */
export interface StatePersistedEvent {
  location: string;
  savedAt: number;
  /** Sessions written; with `replaced`, every live session. */
  upserted: number;
  deleted: number;
  replaced: boolean;
}

/** Payload of `stateRestored`, emitted by `initialize()` when the pool has a store. */
export interface StateRestoredEvent {
  location: string;
  /** When the restored state was saved; `null` when there was none. */
  savedAt: number | null;
  /** Sessions restored alive. */
  restored: number;
  /** Saved sessions that retired at once (expired, used up, blocked); each got a `sessionRetired`. */
  retired: number;
  /** Saved sessions not restored because the pool was full (`maxPoolSize`) or the id was taken. */
  dropped: string[];
  /**
   * Saved cookies left out of restored jars, per session id (sessions that lost none are not listed): evicted by
   * `maxCookiesPerDomain` / `maxCookiesPerSession` (lowered since the save), or refused (a public-suffix domain).
   */
  cookiesDropped: Record<string, CookieDrops>;
  /** With `startFresh`: the error that made the pool begin empty. */
  discarded?: CorruptStateError | UnsupportedStateVersionError;
  /** With `startFresh`: where the state that could not be loaded was moved (it is never deleted). */
  movedTo?: string;
}
