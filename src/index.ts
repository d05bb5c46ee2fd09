/**
 * Crawler session pools as live XState machines: the pool, its sessions, their machines, the stores, the errors
 * and the clock. This entry point loads only `xstate`, `tough-cookie`, `undici` and `eventemitter3`; the optional
 * parts have their own entry points, each needing its own optional peer dependency:
 *
 * - `session-supervisor/redis`: pools shared by a fleet of workers through Redis (needs `ioredis`)
 * - `session-supervisor/inspect`: watching a pool in the Stately inspector (needs `@statelyai/inspect` and `ws`)
 * - `session-supervisor/dashboard`: a live dashboard of a pool's sessions (no peer)
 * - `session-supervisor/testing`: the bundled test site with bot protection, for tests and demos (no peer)
 * - `session-supervisor/crawlee`: Crawlee integration (needs `crawlee`)
 * - `session-supervisor/playwright`: Playwright integration (needs `playwright-core`)
 *
 * @example
 * ```ts
 * import { SessionPool } from 'session-supervisor';
 *
 * const pool = await SessionPool.open({ maxPoolSize: 50 });
 * const response = await pool.fetch('https://example.com/');
 * console.log(response.statusCode, response.session.id);
 * await pool.teardown();
 * ```
 *
 * @packageDocumentation
 */
export type { PoolContext, PoolEmitted, PoolEvent, PoolInput } from '../machines/pool.machine.js';
export { poolMachine } from '../machines/pool.machine.js';
export type {
  ReleaseOutcome,
  RetirementReason,
  SessionContext,
  SessionEvent,
  SessionInput,
  SessionReadiness,
  SessionStateName,
} from '../machines/session.machine.js';
export { MAX_DEADLINE_MS, sessionMachine, USABLE_STATES } from '../machines/session.machine.js';
export type { AcquireOptions } from './acquisition/acquirer.js';
export type {
  FleetEvents,
  FleetHost,
  FleetPoolStats,
  FleetStateLostEvent,
  FleetStats,
  FleetUse,
  FleetUseRequest,
  SessionFleet,
} from './acquisition/fleet.js';
export { SessionLease } from './acquisition/lease.js';
export { type Clock, systemClock } from './clock.js';
export {
  type BrowserCookie,
  type CookieEvictions,
  type CookieJar,
  type CookieLimits,
  createCookieJar,
} from './cookies.js';
export * from './errors.js';
export type { HttpPoolOptions } from './http/options.js';
export type {
  CheckedResponse,
  HeaderProfile,
  InitSessionFunction,
  InitSessionHelpers,
  RequestHeaders,
  RetryAfterPolicy,
  SessionChecker,
  SessionFetchInit,
  SessionResponse,
} from './http/types.js';
export {
  type AttachLoggerOptions,
  attachLogger,
  type LoggedEventName,
  type Logger,
  type LogLevel,
  type LogSource,
} from './logger.js';
export {
  type CreateSessionFunction,
  DEFAULT_BLOCKED_STATUS_CODES,
  DEFAULT_SESSION_OPTIONS,
  type InspectOption,
  type SessionOptions,
  type SessionPoolOptions,
  type SessionReuseStrategy,
} from './options.js';
export { MissingPeerDependencyError } from './peer.js';
export type {
  CookiesEvictedEvent,
  EventRejectedEvent,
  SessionPoolEvents,
  SessionPoolState,
  SessionRetiredEvent,
  SessionStateChangedEvent,
} from './pool-events.js';
export { SessionPoolGroup, type SessionPoolGroupOptions } from './pool-group.js';
export type { PoolCounters, PoolStats } from './pool-stats.js';
export { type RedactLimits, redactUrl, redactValue } from './redact.js';
export {
  type CookieRejection,
  type ResponseHeaders,
  Session,
  type SessionActorRef,
  type SessionState,
} from './session.js';
export { SessionPool, type SessionUse } from './session-pool.js';
export type {
  StorageState,
  StorageStateCookie,
  StorageStateInput,
  StorageStateOptions,
} from './storage-state.js';
export {
  type ConvertCrawleeStateOptions,
  type CrawleeSessionPoolState,
  type CrawleeSessionState,
  convertCrawleeState,
} from './stores/crawlee.js';
export {
  type CrawleeExportedPoolState,
  type CrawleeExportedSession,
  type ExportCrawleeStateOptions,
  exportCrawleeState,
} from './stores/crawlee-export.js';
export type { PersistErrorEvent, StatePersistedEvent, StateRestoredEvent } from './stores/events.js';
export { FileSessionStore, type FileSessionStoreOptions } from './stores/file-store.js';
export { MemorySessionStore, type MemorySessionStoreOptions } from './stores/memory-store.js';
export {
  DEFAULT_PERSIST_STATE_DIR,
  DEFAULT_PERSIST_STATE_INTERVAL_MILLIS,
  DEFAULT_PERSIST_STATE_KEY,
  type PersistenceOptions,
} from './stores/options.js';
export type { CrawleeImportResult } from './stores/restore.js';
export {
  type PersistedPoolDocument,
  type PersistedPoolRecord,
  type PersistedSessionRecord,
  type PersistenceMode,
  type SessionStore,
  STATE_FORMAT,
  STATE_VERSION,
  type StoreWriteBatch,
} from './stores/types.js';
