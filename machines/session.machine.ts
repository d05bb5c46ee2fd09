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
 */
import { assign, sendParent, setup } from 'xstate';

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
}

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
    >
  >;

/** Events crawler code sends to a session (through the facade or the pool). */
export type SessionEvent =
  | { type: 'session.markGood' }
  | { type: 'session.markBad' }
  | { type: 'session.retire'; reason?: RetirementReason }
  | { type: 'session.responseStatus'; statusCode: number; extraBlockedStatusCodes?: readonly number[] }
  | { type: 'session.coolDown'; until: number }
  | { type: 'session.bind'; bindings: SessionBindings };

/** Sent to the parent on entry to every state, so the pool can publish `sessionStateChanged`. */
export interface SessionStateChangedEvent {
  type: 'session.stateChanged';
  sessionId: string;
  state: SessionStateName;
}

/** The states in which a session may be handed out. */
export const USABLE_STATES: ReadonlySet<string> = new Set<SessionStateName>(['fresh', 'active', 'degraded']);

/** setTimeout fires at once for delays above 2^31-1 ms, so a deadline further away than that is rejected. */
export const MAX_TIMER_DELAY_MS = 2_147_483_647;

/**
 * Reads "now" for the delays. The default is wall-clock time; the pool provides its clock (a SimulatedClock in
 * tests) with `sessionMachine.provide({ delays: sessionDelays(clock) })`.
 */
export function sessionDelays(now: () => number) {
  return {
    maxAge: ({ context }: { context: SessionContext }) => Math.max(0, context.expiresAt - now()),
    coolDownEnd: ({ context }: { context: SessionContext }) =>
      Math.max(0, (context.blockedUntil ?? now()) - now()),
  };
}

const wallClockDelays = sessionDelays(Date.now);

export const sessionMachine = setup({
  types: {
    context: {} as SessionContext,
    input: {} as SessionInput,
    events: {} as SessionEvent,
    output: {} as SessionContext,
  },
  delays: wallClockDelays,
  guards: {
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
  },
  actions: {
    recordSuccess: assign({
      usageCount: ({ context }) => context.usageCount + 1,
      errorScore: ({ context }) => Math.max(0, context.errorScore - context.errorScoreDecrement),
    }),
    recordFailure: assign({
      usageCount: ({ context }) => context.usageCount + 1,
      errorScore: ({ context }) => context.errorScore + 1,
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
    notifyStateChange: sendParent(({ context }, params: { state: SessionStateName }) => ({
      type: 'session.stateChanged',
      sessionId: context.id,
      state: params.state,
    })),
  },
}).createMachine({
  id: 'session',
  context: ({ input }) => ({
    usageCount: 0,
    errorScore: 0,
    blockedUntil: null,
    userData: {},
    retirementReason: null,
    blockedStatusCode: null,
    bindings: null,
    ...input,
  }),
  initial: 'fresh',
  // A root-level timer runs in every state until the session retires.
  after: {
    maxAge: { target: '.expired', actions: 'recordExpiry' },
  },
  on: {
    'session.retire': { target: '.retired', actions: 'recordRetireRequest' },
    'session.responseStatus': {
      guard: 'isBlockedStatusCode',
      target: '.blocked',
      actions: 'recordBlockedStatus',
    },
    'session.coolDown': { target: '.blocked', actions: 'startCoolDown' },
    'session.bind': { actions: 'recordBindings' },
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
      },
    },
    blocked: {
      entry: { type: 'notifyStateChange', params: { state: 'blocked' } },
      // Blocked for good unless cooling down; outcomes of requests still in flight keep counting.
      always: [
        { guard: 'isUsageLimitReached', target: 'expired', actions: 'recordUsageLimit' },
        { guard: 'isErrorScoreAtLimit', target: 'retired', actions: 'recordErrorScoreBlock' },
        { guard: 'isNotCoolingDown', target: 'retired' },
      ],
      after: {
        coolDownEnd: { target: 'active', actions: 'endCoolDown' },
      },
      on: {
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
