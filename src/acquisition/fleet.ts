/**
 * The seam between a pool and a fleet: many processes sharing one set of sessions through a store that grants
 * uses atomically (`session-supervisor/redis` implements it with `redisFleet()`). The core knows only this
 * interface; it imports nothing of the store.
 *
 * A fleet pool is a `SessionPool` like any other (`getSession`, `acquire`, `withSession`, `fetch`, dispatchers,
 * events, `getState`, `stats`): the fleet chooses the session and reserves its use in the store; the pool keeps a
 * local machine for each session this worker has been granted (adopted from the store's record on first grant),
 * through which its requests, cookies and outcomes go as usual.
 */
import type { ReleaseOutcome, RetirementReason } from '../../machines/session.machine.js';
import type { Session } from '../session.js';
import type { PersistedSessionRecord } from '../stores/types.js';

/** Payload of `stateLost`. */
export interface FleetStateLostEvent {
  previousGeneration: string;
  generation: string;
  /** Sessions this worker held copies of: each retired here (reason `manual`). */
  sessionsLost: string[];
  /** Leases this worker held in the lost state: their `signal`s aborted. */
  leasesLost: string[];
}

/**
 * What a fleet reports, emitted by its pool (`pool.on('connectionLost', …)`) and logged by its `logger`. A pool
 * without a fleet never emits them.
 */
export interface FleetEvents {
  /** The store stopped answering (a command timed out or the connection dropped): grants wait, releases are retried. */
  connectionLost: (event: { error: Error }) => void;
  /** The store answers again. */
  connectionRestored: () => void;
  /**
   * The store came back without the fleet's state (e.g. Redis restarted without persistence, or was reset): a
   * new generation started, and nothing of the old one comes back.
   */
  stateLost: (event: FleetStateLostEvent) => void;
  /** A lease of this worker was lost before its release (not renewed in time): its `signal` aborted. */
  leaseLost: (event: { sessionId: string; error: Error }) => void;
}

/** What a fleet needs of the pool that opens it. */
export interface FleetHost {
  /** The pool's `maxPoolSize`: the fleet-wide limit of live sessions. */
  readonly maxPoolSize: number;
  /** The pool's `maxConcurrencyPerSession`: leases of one session in flight, fleet-wide. */
  readonly maxConcurrencyPerSession: number;
  /** The pool's `minDelayBetweenUsesMs`: the least time between two grants of one session. */
  readonly minDelayBetweenUsesMs: number;
  /** The local session of that id, if this worker has it. */
  session(id: string): Session | undefined;
  /** Spawns the local copy of a session of the fleet from its record; undefined if it could not be spawned. */
  adopt(record: PersistedSessionRecord): Session | undefined;
  /** The record of a new session, built as the pool builds one (`createSessionFunction`, `sessionOptions`). */
  newSessionRecord(): Promise<PersistedSessionRecord>;
  /** The fleet retired a session (elsewhere, or its state was lost): the local copy retires with `reason`. */
  retire(sessionId: string, reason: RetirementReason): void;
  /** Reports one of the fleet's events; the pool emits it to its listeners. */
  emit<E extends keyof FleetEvents>(event: E, ...args: Parameters<FleetEvents[E]>): void;
}

/** One use of a session granted by the fleet. */
export interface FleetUse {
  readonly session: Session;
  /** Aborts when the fleet's lease on the session is lost: stop using the session. */
  readonly signal: AbortSignal;
  /** Calls `listener` when the fleet's lease is lost (at once if it already was); reads no signal. */
  onLost(listener: (reason: Error) => void): void;
  /**
   * Ends the use (exactly once). Its outcome and the cookie changes made under it reach the store with the
   * release of the fleet's lease, which may first serve more of this worker's uses (a grant of several).
   */
  release(outcome: ReleaseOutcome): void;
}

/** How a request wants its fleet session. */
export interface FleetUseRequest {
  /** This session only. */
  sessionId?: string | undefined;
  /** Sessions this request already tried: granted again only when no other can serve. */
  exclude?: ReadonlySet<string> | undefined;
  signal?: AbortSignal | undefined;
  /** How long to wait for a grant, ms. */
  waitMs: number;
}

/** A fleet's counters, on `pool.stats().fleet`. */
export interface FleetStats {
  /** Uses this worker ended in the fleet (each a request that may have gone out). */
  requests: number;
  /** Retirements this worker heard of (fleet-wide), by reason. */
  retiredByReason: Partial<Record<string, number>>;
  /** Leases granted to this worker. */
  leasesGranted: number;
  /** Leases this worker lost before releasing them (not renewed in time, or the store lost its state). */
  leasesLost: number;
  /** Leases of this worker the store found lapsed on release (their uses were counted when they lapsed). */
  leasesExpired: number;
  /** Round trips to the store. */
  roundTrips: number;
  /** Whether the store answers now. */
  connected: boolean;
}

/** A store shared by a fleet of pools (see `redisFleet()` in `session-supervisor/redis`). */
export interface SessionFleet {
  /** Connects and joins the fleet; called by `pool.initialize()`. */
  open(host: FleetHost): Promise<void>;
  /**
   * Grants one use: the pinned session, else one the fleet chooses, else a new one while the fleet has room.
   * Waits up to `waitMs`; rejects with `NoUsableSessionError`, `UnknownSessionError` (pinned session gone) or
   * `PoolNotRunningError` (closed).
   */
  acquire(request: FleetUseRequest): Promise<FleetUse>;
  /**
   * Creates a session in the store (the pool's `addSession`), within `maxPoolSize` fleet-wide and under an id the
   * fleet never used, and adopts it here; waits up to `waitMs` while the store does not answer. Rejects with
   * `PoolFullError`, `DuplicateSessionError` or `PoolNotRunningError`.
   */
  add(record: PersistedSessionRecord, waitMs: number): Promise<Session>;
  /** A local session retired (outcome, blocked status, `retire()`): it retires fleet-wide. */
  sessionRetired(sessionId: string, reason: RetirementReason): void;
  stats(): FleetStats;
  /** Ends this worker's part: pending releases are written, then the connection closes. */
  close(): Promise<void>;
}

/** `pool.stats()` of a fleet pool carries the fleet's counters. */
export interface FleetPoolStats {
  fleet?: FleetStats;
}

/** Whether a value looks like a `SessionFleet` (for option checks). */
export function isSessionFleet(value: unknown): value is SessionFleet {
  const fleet = value as Partial<SessionFleet> | null;
  return (
    typeof fleet === 'object' &&
    fleet !== null &&
    typeof fleet.open === 'function' &&
    typeof fleet.acquire === 'function' &&
    typeof fleet.add === 'function' &&
    typeof fleet.sessionRetired === 'function' &&
    typeof fleet.stats === 'function' &&
    typeof fleet.close === 'function'
  );
}
