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
export {
  DuplicateSessionError,
  InvalidCookieError,
  InvalidOptionError,
  NoUsableSessionError,
  PoolFullError,
  PoolNotRunningError,
  SessionSupervisorError,
  UnknownSessionError,
} from './errors.js';
export {
  type CreateSessionFunction,
  DEFAULT_BLOCKED_STATUS_CODES,
  DEFAULT_SESSION_OPTIONS,
  type InspectOption,
  type SessionOptions,
  type SessionPoolOptions,
  type SessionReuseStrategy,
} from './options.js';
export {
  type CookieRejection,
  type ResponseHeaders,
  Session,
  type SessionRef,
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
