/**
 * The persistence contract, in the manner of tough-cookie's `Store`: a pool talks to its state through a small
 * async interface, and the backends (memory, file, later Redis) decide how to keep it.
 */
import type { SerializedCookieJar } from 'tough-cookie';
import type { SessionContext, SessionStateName } from '../../machines/session.machine.js';

/** The version of the stored document this library writes; a larger one is refused (written by a newer release). */
export const STATE_VERSION = 1;

/** Marks a stored document as ours, so a stray JSON file is not mistaken for a pool's state. */
export const STATE_FORMAT = 'session-supervisor/pool-state';

/** Pool-level counters kept across restarts. */
export interface PersistedPoolRecord {
  /** Sessions created over the pool's whole life. */
  createdCount: number;
  /** Sessions retired over the pool's whole life. */
  retiredCount: number;
}

/**
 * One saved session: its whole machine context (epoch-millisecond deadlines, counters, limits, userData and any
 * field other features add to the context), the state it was in, and its cookie jar.
 */
export interface PersistedSessionRecord extends SessionContext {
  /** The lifecycle state when saved; informative only, restore derives the state from the counters. */
  state?: SessionStateName;
  /** `CookieJar.serializeSync()` output; `null` for an empty jar. */
  cookieJar: SerializedCookieJar | null;
  [field: string]: unknown;
}

/** The whole stored state of one pool. */
export interface PersistedPoolDocument {
  format: typeof STATE_FORMAT;
  version: typeof STATE_VERSION;
  /** Epoch milliseconds of the write. */
  savedAt: number;
  pool: PersistedPoolRecord;
  sessions: PersistedSessionRecord[];
}

/**
 * What changed since the store's last successful write. Sessions come serialized (one JSON text per session), so
 * a store that keeps sessions apart (a hash in Redis) writes only these, and a store that keeps one document
 * never re-serializes the sessions that did not change.
 */
export interface StoreWriteBatch {
  /** Epoch milliseconds, on the pool's clock. */
  savedAt: number;
  pool: PersistedPoolRecord;
  /** Session id → JSON text of its `PersistedSessionRecord`, for sessions added or changed. */
  upserts: ReadonlyMap<string, string>;
  /** Ids of sessions that left the pool (retired). */
  deletes: readonly string[];
  /** When true, `upserts` holds every session: the store drops any session it holds that is not listed. */
  replace: boolean;
}

/**
 * Where a pool keeps its state. Every method is async; a store is used by one pool at a time (`open` takes the
 * lock where the backend has one, `close` releases it).
 */
export interface SessionStore {
  /** Human-readable location (a file path, `memory:…`), used in errors and events. */
  readonly location: string;
  /** Takes exclusive use of the state (a lock file, a lease). Idempotent. Throws `StateLockedError` if taken. */
  open(): Promise<void>;
  /**
   * The stored document, or `null` if there is none. Throws `CorruptStateError` (or its subclass
   * `InvalidSavedSessionError`) for unreadable content and `UnsupportedStateVersionError` for a newer format;
   * in both cases the stored content is left as it is (see `setAside`).
   */
  load(): Promise<PersistedPoolDocument | null>;
  /** Applies a batch. On failure the previously stored state must remain readable. */
  write(batch: StoreWriteBatch): Promise<void>;
  /**
   * Moves the stored content out of the way (never deletes it) and returns where it went, or `undefined` if
   * there was nothing to move. Used for content that cannot be loaded.
   */
  setAside(reason: string): Promise<string | undefined>;
  /** Removes the stored state. */
  reset(): Promise<void>;
  /** Releases what `open` took. Idempotent. */
  close(): Promise<void>;
}

/** How the pool decides when to write. */
export type PersistenceMode = 'checkpoint' | 'write-through';
