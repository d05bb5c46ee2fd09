/** Events a `SessionPool` publishes, and the shape of its state. */
import type { SessionContext, SessionStateName } from '../machines/session.machine.js';
import type { FleetEvents } from './acquisition/fleet.js';
import type { CookieEvictions } from './cookies.js';
import type { CookieRejection, Session, SessionState } from './session.js';
import type { PersistErrorEvent, StatePersistedEvent, StateRestoredEvent } from './stores/events.js';

/** Payload of `sessionRetired`. */
export interface SessionRetiredEvent {
  session: Session;
  reason: SessionContext['retirementReason'] & string;
  /** The session's final state, cookie jar included. */
  state: SessionState;
}

/** Payload of `sessionStateChanged`. */
export interface SessionStateChangedEvent {
  session: Session;
  state: SessionStateName;
}

/** Payload of `eventRejected`: an event for a session id that is unknown or retired. */
export interface EventRejectedEvent {
  sessionId: string;
  eventType: string;
}

/** Payload of `cookiesEvicted`. */
export interface CookiesEvictedEvent extends CookieEvictions {
  sessionId: string;
}

/**
 * Events of a `SessionPool`; subscribe with `pool.on(name, listener)`. A pool opened with a `fleet` also emits
 * the fleet's (`connectionLost`, `connectionRestored`, `stateLost`, `leaseLost`).
 */
export interface SessionPoolEvents extends FleetEvents {
  sessionCreated: (session: Session) => void;
  sessionStateChanged: (event: SessionStateChangedEvent) => void;
  sessionRetired: (event: SessionRetiredEvent) => void;
  eventRejected: (event: EventRejectedEvent) => void;
  cookieRejected: (rejection: CookieRejection) => void;
  /**
   * A session's jar evicted cookies to stay within `maxCookiesPerDomain` / `maxCookiesPerSession` (oldest first);
   * one event per burst, with counts by limit.
   */
  cookiesEvicted: (event: CookiesEvictedEvent) => void;
  /** A write to the pool's store failed; the crawl goes on and the next write retries. */
  persistError: (event: PersistErrorEvent) => void;
  /** A write to the pool's store landed. */
  statePersisted: (event: StatePersistedEvent) => void;
  /** `initialize()` restored the pool from its store. */
  stateRestored: (event: StateRestoredEvent) => void;
}

/** JSON-safe picture of the pool, shaped like Crawlee's `SessionPool.getState()`. */
export interface SessionPoolState {
  usableSessionsCount: number;
  retiredSessionsCount: number;
  sessions: SessionState[];
}
