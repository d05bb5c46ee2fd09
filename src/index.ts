/**
 * session-supervisor: crawler session pools as live XState machines.
 * Everything public is exported from here.
 */
export type { PoolContext, PoolEmitted, PoolEvent, PoolInput } from '../machines/pool.machine.js';
export { poolMachine } from '../machines/pool.machine.js';
export type {
  RetirementReason,
  SessionContext,
  SessionEvent,
  SessionInput,
  SessionStateName,
} from '../machines/session.machine.js';
export { sessionMachine, USABLE_STATES } from '../machines/session.machine.js';
export { shardMachine } from '../machines/shard.machine.js';
export { type Clock, systemClock } from './clock.js';
export { type BrowserCookie, type CookieJar, type CookieLimits, createCookieJar } from './cookies.js';
export { type Dashboard, type DashboardOptions, startDashboard } from './dashboard/server.js';
export {
  CorruptStateError,
  DuplicateSessionError,
  type FetchAttemptSummary,
  InspectorStartError,
  InvalidCookieError,
  InvalidOptionError,
  InvalidSavedSessionError,
  NoUsableSessionError,
  PersistWriteError,
  PoolFullError,
  PoolNotRunningError,
  RedisUnavailableError,
  RequestFailedError,
  RequestTimeoutError,
  ResponseTooLargeError,
  SessionBlockedError,
  SessionInitError,
  SessionRotationsExhaustedError,
  SessionSupervisorError,
  StateLockedError,
  TooManyBadInitsError,
  TooManyRedirectsError,
  UnknownSessionError,
  UnsupportedStateVersionError,
} from './errors.js';
export type { HttpPoolOptions } from './http/options.js';
export { SessionPoolGroup, type SessionPoolGroupOptions } from './http/pool-group.js';
export { redactUrl } from './http/proxy.js';
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
  createSanitizedInspector,
  createSanitizers,
  DEFAULT_MAX_DEFERRED_EVENTS,
  DEFAULT_SANITIZE_LIMITS,
  type InspectorSanitizers,
  type InspectorServer,
  type InspectorServerOptions,
  type RunningInspector,
  redactCredentials,
  type SanitizedInspector,
  type SanitizedInspectorOptions,
  type SanitizeLimits,
  type StartInspectorOptions,
  sanitizeValue,
  startInspector,
  startInspectorServer,
} from './inspect/index.js';
export {
  type CreateSessionFunction,
  DEFAULT_BLOCKED_STATUS_CODES,
  DEFAULT_SESSION_OPTIONS,
  type InspectOption,
  type SessionOptions,
  type SessionPoolOptions,
  type SessionReuseStrategy,
} from './options.js';
export { SessionLease } from './redis/lease.js';
export {
  DEFAULT_KEY_PREFIX,
  DEFAULT_REDIS_URL,
  type RedisConnectionOptions,
} from './redis/options.js';
export {
  type LeaseGrant,
  type PoolMessage,
  RedisSessionStore,
  type RedisSessionStoreOptions,
} from './redis/redis-store.js';
export {
  createSharedPool,
  SharedSessionPool,
  type SharedSessionPoolEvents,
  type SharedSessionPoolOptions,
} from './redis/shared-pool.js';
export {
  type CookieRejection,
  type ResponseHeaders,
  Session,
  type SessionActorRef,
  type SessionState,
} from './session.js';
export {
  type EventRejectedEvent,
  SessionPool,
  type SessionPoolEvents,
  type SessionPoolState,
  type SessionRetiredEvent,
  type SessionStateChangedEvent,
} from './session-pool.js';
export {
  type ConvertCrawleeStateOptions,
  type CrawleeSessionPoolState,
  type CrawleeSessionState,
  convertCrawleeState,
} from './stores/crawlee.js';
export { decodeDocument, validateDocument } from './stores/document.js';
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
export {
  CAPTCHA_MARKER,
  isCaptchaPage,
  NO_FAULTS,
  startTestSite,
  type TestSite,
  type TestSiteOptions,
  type TestSiteStats,
} from './testing/test-site.js';
