/**
 * The lifecycle of one crawler session: one simulated user of one website.
 *
 *   fresh ──markGood/markBad──▶ active ◀──score back to 0── degraded
 *     │                           │  └──errorScore > 0──────▶   │
 *     │                           ▼                             ▼
 *     │        blocked (score ≥ maxErrorScore, blocked status code, or cooling down after Retry-After)
 *     │        expired (maxAgeSecs passed, or usageCount reached maxUsageCount)
 *     └──────────────────────────▶ retired (final: the pool stops the actor and emits `sessionRetired`)
 *
 * The state is a function of the context and the clock: marks only update counters, and eventless (`always`)
 * transitions move the session to the state those counters imply. That is what makes restore simple: a session
 * spawned with a saved context walks from `fresh` to the state it was in, and its timers are armed from the
 * absolute deadlines in context (XState does not persist scheduled events).
 *
 * Reserved uses: a request handed a session reserves one use (`session.reserve`), and its outcome releases it
 * (`session.release`), so `usageCount + reserved` never passes `maxUsageCount` however many requests are in
 * flight. Readiness (`initSession` and renewal) and `sessionChecker` failures are context too, so they are
 * persisted and shown by the inspector like everything else.
 *
 * Deadlines (`expiresAt`, `blockedUntil`) may lie further ahead than a timer can wait (2^31-1 ms): the machine
 * waits in steps of at most that, checking the deadline at each step.
 */
import { assign, cancel, raise, sendParent, setup } from 'xstate';

/** The six lifecycle states of a session. */
export type SessionStateName = 'fresh' | 'active' | 'degraded' | 'blocked' | 'expired' | 'retired';

/** Every reason a session can retire for. */
export const RETIREMENT_REASONS = [
  'blocked',
  'blockedStatusCode',
  'expired',
  'maxUsageCount',
  'manual',
  'initFailed',
  'checkFailed',
] as const;

/** Why a session was retired. */
export type RetirementReason = (typeof RETIREMENT_REASONS)[number];

const retirementReasons: ReadonlySet<unknown> = new Set(RETIREMENT_REASONS);

/** Whether a value read from outside (a file, Redis) is a known retirement reason. */
export function isRetirementReason(value: unknown): value is RetirementReason {
  return retirementReasons.has(value);
}

/**
 * What a session is bound to for its whole life, so a restored session gets the same again: the proxy by its
 * redacted URL (never its credentials) and the header profile by its index in the pool's list.
 */
export interface SessionBindings {
  proxy: string | null;
  headerProfile: number | null;
}

/** Everything a session knows about itself; JSON-safe, so it can be persisted and restored as it is. */
export interface SessionContext {
  id: string;
  /** Epoch milliseconds. */
  createdAt: number;
  /** Epoch milliseconds: the absolute deadline after which the session expires. */
  expiresAt: number;
  usageCount: number;
  maxUsageCount: number;
  errorScore: number;
  maxErrorScore: number;
  errorScoreDecrement: number;
  /** Status codes that block (and retire) the session. */
  blockedStatusCodes: readonly number[];
  /** Epoch milliseconds until which the session cools down in `blocked`, or null. */
  blockedUntil: number | null;
  userData: Record<string, unknown>;
  retirementReason: RetirementReason | null;
  /** The status code that blocked the session, when that is why it retired. */
  blockedStatusCode: number | null;
  /** Proxy and header profile the session is bound to, if the pool assigns them. */
  bindings: SessionBindings | null;
  /** Uses handed out to requests whose outcome has not come back yet. */
  reserved: number;
  /** Epoch milliseconds before which no new use may start (`minDelayBetweenUsesMs`); 0 when free. */
  nextUseAt: number;
  /** Where the session stands in `initSession` and renewal: only a `ready` session is handed to requests. */
  readiness: SessionReadiness;
  /** `sessionChecker` failures since the session was (re)initialized. */
  checkFailures: number;
  /** Why the last `initSession` failed (secrets scrubbed), once it has. */
  initError: string | null;
}

/**
 * `pending`: `initSession` has not run; `initializing`: it runs; `ready`: requests may use the session;
 * `renewing`: the jar is being cleared and `initSession` re-run, new requests wait.
 */
export type SessionReadiness = 'pending' | 'initializing' | 'ready' | 'renewing';

/**
 * How a reserved use ends. `good` and `bad` count the use like `markGood`/`markBad`; `aborted` counts it (the
 * request may have gone out) without touching the error score; `unused` gives it back (the request never left).
 */
export type ReleaseOutcome = 'good' | 'bad' | 'aborted' | 'unused';

/** Longest deadline accepted for `maxAgeSecs` and cool-downs: ten years of 365 days. */
export const MAX_DEADLINE_MS = 10 * 365 * 24 * 3600 * 1000;

/** What the pool passes to spawn a session. Counters default to zero, so a saved context restores a session. */
export type SessionInput = Pick<
  SessionContext,
  | 'id'
  | 'createdAt'
  | 'expiresAt'
  | 'maxUsageCount'
  | 'maxErrorScore'
  | 'errorScoreDecrement'
  | 'blockedStatusCodes'
> &
  Partial<
    Pick<
      SessionContext,
      | 'usageCount'
      | 'errorScore'
      | 'blockedUntil'
      | 'userData'
      | 'retirementReason'
      | 'blockedStatusCode'
      | 'bindings'
      | 'reserved'
      | 'nextUseAt'
      | 'readiness'
      | 'checkFailures'
      | 'initError'
    >
  >;

/** Events crawler code sends to a session (through the facade or the pool). */
export type SessionEvent =
  | { type: 'session.markGood' }
  | { type: 'session.markBad' }
  | { type: 'session.retire'; reason?: RetirementReason }
  | { type: 'session.responseStatus'; statusCode: number; extraBlockedStatusCodes?: readonly number[] }
  | { type: 'session.coolDown'; until: number }
  | { type: 'session.bind'; bindings: SessionBindings }
  /** Reserves one use for a request at time `at`, if the session has a use, a concurrency slot and no pacing wait. */
  | { type: 'session.reserve'; at: number; maxConcurrency: number; minDelayMs: number }
  /** Ends one reserved use. */
  | { type: 'session.release'; outcome: ReleaseOutcome }
  | { type: 'session.initStart' }
  | { type: 'session.initDone' }
  | { type: 'session.initFail'; error: string }
  | { type: 'session.renewStart' }
  /** A response failed the `sessionChecker`; at `maxCheckFailures` failures the session retires. */
  | { type: 'session.checkFailed'; maxCheckFailures: number }
  /** Raised by the machine itself: a deadline step has passed. */
  | { type: 'session.expiryStep' }
  | { type: 'session.coolDownStep' };

/** Sent to the parent on entry to every state, so the pool can publish `sessionStateChanged`. */
export interface SessionStateChangedEvent {
  type: 'session.stateChanged';
  sessionId: string;
  state: SessionStateName;
}

/** The states in which a session may be handed out. */
export const USABLE_STATES: ReadonlySet<string> = new Set<SessionStateName>(['fresh', 'active', 'degraded']);

/** setTimeout fires at once for delays above 2^31-1 ms, so longer waits are taken in steps of at most this. */
export const MAX_TIMER_DELAY_MS = 2_147_483_647;

/** Whether the session has a use left that no request has reserved. */
export function hasUnreservedUse(context: SessionContext): boolean {
  return context.usageCount + context.reserved < context.maxUsageCount;
}

/**
 * Whether a request may reserve a use at `at`: ready, a use left, a concurrency slot free, pacing satisfied and not
 * past its deadline. The state (usable or not) is checked by the machine: only usable states accept the event.
 *
 * A session's first use goes alone: until one outcome is back, a never-used session takes no second request, so
 * the cookies a site sets on a first visit (a cookie check) are in the jar for every request after it, instead of
 * each concurrent first request starting a visit of its own.
 */
export function canReserveAt(context: SessionContext, at: number, maxConcurrency: number): boolean {
  return (
    context.readiness === 'ready' &&
    hasUnreservedUse(context) &&
    context.reserved < (context.usageCount === 0 ? 1 : maxConcurrency) &&
    at >= context.nextUseAt &&
    at < context.expiresAt
  );
}

function stepTowards(deadline: number, now: number): number {
  return Math.min(MAX_TIMER_DELAY_MS, Math.max(0, deadline - now));
}

/**
 * What needs "now": the deadline steps and the checks whether a deadline has passed. The default is wall-clock
 * time; the pool provides its clock (a SimulatedClock in tests) with `sessionMachine.provide(sessionClock(now))`.
 */
export function sessionClock(now: () => number) {
  return {
    delays: {
      expiryStep: ({ context }: { context: SessionContext }) => stepTowards(context.expiresAt, now()),
      coolDownStep: ({ context }: { context: SessionContext }) =>
        stepTowards(context.blockedUntil ?? now(), now()),
    },
    guards: {
      isExpiryDue: ({ context }: { context: SessionContext }) => context.expiresAt <= now(),
      isCoolDownOver: ({ context }: { context: SessionContext }) =>
        context.blockedUntil === null || context.blockedUntil <= now(),
    },
  };
}

const wallClock = sessionClock(Date.now);

type ReleaseEvent = Extract<SessionEvent, { type: 'session.release' }>;

function releasedUse(event: ReleaseEvent): number {
  return event.outcome === 'unused' ? 0 : 1;
}

function releasedScore(context: SessionContext, event: ReleaseEvent): number {
  if (event.outcome === 'good') return Math.max(0, context.errorScore - context.errorScoreDecrement);
  if (event.outcome === 'bad') return context.errorScore + 1;
  return context.errorScore;
}

/** Readiness of a spawned session: a saved `ready` stays; an init or renewal cut short by a crash runs again. */
function initialReadiness(input: SessionInput): SessionReadiness {
  if (input.readiness === 'ready') return 'ready';
  if (input.readiness !== undefined) return 'pending';
  // Saved before readiness was recorded: a session already in use was ready.
  return (input.usageCount ?? 0) > 0 || (input.errorScore ?? 0) > 0 ? 'ready' : 'pending';
}

/**
 * The context a session starts with: defaults for what the input leaves out. Requests that were in flight when
 * a restored session was saved may have gone out, so each counts as a use.
 */
export function sessionContextFrom(input: SessionInput): SessionContext {
  return {
    errorScore: 0,
    blockedUntil: null,
    userData: {},
    retirementReason: null,
    blockedStatusCode: null,
    bindings: null,
    nextUseAt: 0,
    checkFailures: 0,
    initError: null,
    ...input,
    usageCount: (input.usageCount ?? 0) + (input.reserved ?? 0),
    reserved: 0,
    readiness: initialReadiness(input),
  };
}

export const sessionMachine = setup({
  types: {
    context: {} as SessionContext,
    input: {} as SessionInput,
    events: {} as SessionEvent,
    output: {} as SessionContext,
  },
  delays: wallClock.delays,
  guards: {
    ...wallClock.guards,
    hasBeenUsed: ({ context }) => context.usageCount > 0 || context.errorScore > 0,
    isCoolingDown: ({ context }) => context.blockedUntil !== null,
    isNotCoolingDown: ({ context }) => context.blockedUntil === null,
    isUsageLimitReached: ({ context }) => context.usageCount >= context.maxUsageCount,
    isErrorScoreAtLimit: ({ context }) => context.errorScore >= context.maxErrorScore,
    hasErrorScore: ({ context }) => context.errorScore > 0,
    hasNoErrorScore: ({ context }) => context.errorScore === 0,
    isBlockedStatusCode: ({ context, event }) =>
      event.type === 'session.responseStatus' &&
      (context.blockedStatusCodes.includes(event.statusCode) ||
        (event.extraBlockedStatusCodes?.includes(event.statusCode) ?? false)),
    canReserve: ({ context, event }) =>
      event.type === 'session.reserve' && canReserveAt(context, event.at, event.maxConcurrency),
    hasReservation: ({ context }) => context.reserved > 0,
    isPendingInit: ({ context }) => context.readiness === 'pending',
    isReady: ({ context }) => context.readiness === 'ready',
    isCheckFailureLimit: ({ context, event }) =>
      event.type === 'session.checkFailed' && context.checkFailures + 1 >= event.maxCheckFailures,
  },
  actions: {
    // The hot path (marks, reservations, releases): one assigner for all fields, which XState calls once, instead
    // of one call per key.
    recordSuccess: assign(({ context }) => ({
      usageCount: context.usageCount + 1,
      errorScore: Math.max(0, context.errorScore - context.errorScoreDecrement),
    })),
    recordFailure: assign(({ context }) => ({
      usageCount: context.usageCount + 1,
      errorScore: context.errorScore + 1,
    })),
    recordReservation: assign(({ context, event }) => ({
      reserved: context.reserved + 1,
      nextUseAt:
        event.type === 'session.reserve' && event.minDelayMs > 0
          ? event.at + event.minDelayMs
          : context.nextUseAt,
    })),
    recordRelease: assign(({ context, event }) => {
      const release = event as ReleaseEvent;
      return {
        reserved: context.reserved - 1,
        usageCount: context.usageCount + releasedUse(release),
        errorScore: releasedScore(context, release),
      };
    }),
    recordErrorScoreBlock: assign({ retirementReason: 'blocked', blockedUntil: null }),
    recordBlockedStatus: assign({
      retirementReason: 'blockedStatusCode',
      blockedUntil: null,
      blockedStatusCode: ({ event }) => (event.type === 'session.responseStatus' ? event.statusCode : null),
    }),
    recordUsageLimit: assign({ retirementReason: 'maxUsageCount' }),
    recordExpiry: assign({ retirementReason: 'expired' }),
    recordRetireRequest: assign({
      retirementReason: ({ context, event }) =>
        context.retirementReason ?? (event.type === 'session.retire' ? (event.reason ?? 'manual') : 'manual'),
    }),
    startCoolDown: assign({
      blockedUntil: ({ event }) => (event.type === 'session.coolDown' ? event.until : null),
    }),
    endCoolDown: assign({ blockedUntil: null }),
    recordBindings: assign({
      bindings: ({ context, event }) => (event.type === 'session.bind' ? event.bindings : context.bindings),
    }),
    recordInitStart: assign({ readiness: 'initializing' }),
    recordInitDone: assign({ readiness: 'ready', initError: null }),
    recordInitFailure: assign({
      readiness: 'pending',
      initError: ({ event }) => (event.type === 'session.initFail' ? event.error : null),
      retirementReason: ({ context }) => context.retirementReason ?? 'initFailed',
    }),
    recordRenewStart: assign({ readiness: 'renewing', checkFailures: 0 }),
    recordCheckFailure: assign({ checkFailures: ({ context }) => context.checkFailures + 1 }),
    recordCheckFailureRetirement: assign({
      checkFailures: ({ context }) => context.checkFailures + 1,
      retirementReason: ({ context }) => context.retirementReason ?? 'checkFailed',
    }),
    waitForExpiryStep: raise({ type: 'session.expiryStep' }, { id: 'expiryStep', delay: 'expiryStep' }),
    waitForCoolDownStep: raise(
      { type: 'session.coolDownStep' },
      { id: 'coolDownStep', delay: 'coolDownStep' },
    ),
    stopCoolDownWait: cancel('coolDownStep'),
    notifyStateChange: sendParent(({ context }, params: { state: SessionStateName }) => ({
      type: 'session.stateChanged',
      sessionId: context.id,
      state: params.state,
    })),
  },
}).createMachine({
  id: 'session',
  context: ({ input }) => sessionContextFrom(input),
  initial: 'fresh',
  // The expiry wait runs in every state until the session retires, in steps a timer can take.
  entry: 'waitForExpiryStep',
  on: {
    'session.expiryStep': [
      { guard: 'isExpiryDue', target: '.expired', actions: 'recordExpiry' },
      { actions: 'waitForExpiryStep' },
    ],
    'session.retire': { target: '.retired', actions: 'recordRetireRequest' },
    'session.responseStatus': {
      guard: 'isBlockedStatusCode',
      target: '.blocked',
      actions: 'recordBlockedStatus',
    },
    'session.coolDown': { target: '.blocked', actions: 'startCoolDown' },
    'session.bind': { actions: 'recordBindings' },
    // Outcomes of requests still in flight keep counting in every state but `retired`.
    'session.release': { guard: 'hasReservation', actions: 'recordRelease' },
    'session.initStart': { guard: 'isPendingInit', actions: 'recordInitStart' },
    'session.initDone': { actions: 'recordInitDone' },
    'session.initFail': { target: '.retired', actions: 'recordInitFailure' },
    'session.renewStart': { guard: 'isReady', actions: 'recordRenewStart' },
    'session.checkFailed': [
      { guard: 'isCheckFailureLimit', target: '.retired', actions: 'recordCheckFailureRetirement' },
      { actions: 'recordCheckFailure' },
    ],
  },
  states: {
    fresh: {
      // A restored session walks on to the state its saved counters imply.
      always: [
        { guard: 'isCoolingDown', target: 'blocked' },
        { guard: 'hasBeenUsed', target: 'active' },
      ],
      on: {
        'session.markGood': { target: 'active', actions: 'recordSuccess' },
        'session.markBad': { target: 'active', actions: 'recordFailure' },
        'session.reserve': { guard: 'canReserve', actions: 'recordReservation' },
      },
    },
    active: {
      entry: { type: 'notifyStateChange', params: { state: 'active' } },
      always: [
        { guard: 'isUsageLimitReached', target: 'expired', actions: 'recordUsageLimit' },
        { guard: 'isErrorScoreAtLimit', target: 'blocked', actions: 'recordErrorScoreBlock' },
        { guard: 'hasErrorScore', target: 'degraded' },
      ],
      on: {
        'session.markGood': { actions: 'recordSuccess' },
        'session.markBad': { actions: 'recordFailure' },
        'session.reserve': { guard: 'canReserve', actions: 'recordReservation' },
      },
    },
    degraded: {
      entry: { type: 'notifyStateChange', params: { state: 'degraded' } },
      always: [
        { guard: 'isUsageLimitReached', target: 'expired', actions: 'recordUsageLimit' },
        { guard: 'isErrorScoreAtLimit', target: 'blocked', actions: 'recordErrorScoreBlock' },
        { guard: 'hasNoErrorScore', target: 'active' },
      ],
      on: {
        'session.markGood': { actions: 'recordSuccess' },
        'session.markBad': { actions: 'recordFailure' },
        'session.reserve': { guard: 'canReserve', actions: 'recordReservation' },
      },
    },
    blocked: {
      entry: [{ type: 'notifyStateChange', params: { state: 'blocked' } }, 'waitForCoolDownStep'],
      exit: 'stopCoolDownWait',
      // Blocked for good unless cooling down; outcomes of requests still in flight keep counting.
      always: [
        { guard: 'isUsageLimitReached', target: 'expired', actions: 'recordUsageLimit' },
        { guard: 'isErrorScoreAtLimit', target: 'retired', actions: 'recordErrorScoreBlock' },
        { guard: 'isNotCoolingDown', target: 'retired' },
      ],
      on: {
        'session.coolDownStep': [
          { guard: 'isCoolDownOver', target: 'active', actions: 'endCoolDown' },
          { actions: 'waitForCoolDownStep' },
        ],
        'session.markGood': { actions: 'recordSuccess' },
        'session.markBad': { actions: 'recordFailure' },
        'session.coolDown': { target: 'blocked', reenter: true, actions: 'startCoolDown' },
      },
    },
    expired: {
      entry: { type: 'notifyStateChange', params: { state: 'expired' } },
      always: { target: 'retired' },
    },
    retired: {
      type: 'final',
      entry: { type: 'notifyStateChange', params: { state: 'retired' } },
    },
  },
  output: ({ context }) => context,
});

/** The top-level state name of a session snapshot value. */
export function stateNameOf(value: unknown): SessionStateName {
  return (typeof value === 'string' ? value : Object.keys(value as object)[0]) as SessionStateName;
}
