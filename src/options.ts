import type { InspectionEvent, Observer } from 'xstate';
import { MAX_DEADLINE_MS } from '../machines/session.machine.js';
import { isSessionFleet, type SessionFleet } from './acquisition/fleet.js';
import type { Clock } from './clock.js';
import { describeValue } from './describe-value.js';
import { InvalidOptionError } from './errors.js';
import {
  HTTP_OPTION_NAMES,
  type HttpPoolOptions,
  type ResolvedHttpOptions,
  resolveHttpOptions,
} from './http/options.js';
import { type Logger, resolveLogger } from './logger.js';
import {
  PERSISTENCE_OPTION_NAMES,
  type PersistenceOptions,
  type ResolvedPersistenceOptions,
  resolvePersistenceOptions,
} from './stores/options.js';

/** Limits and data of one session; every field falls back to the pool's `sessionOptions`, then to the defaults. */
export interface SessionOptions {
  /**
   * Unique id; generated when omitted.
   * @defaultValue `undefined` (an id is generated)
   */
  id?: string;
  /**
   * Seconds after creation at which the session expires and retires; up to ten years (315,360,000), honoured
   * across restarts (timers wait in steps of at most 2^31-1 ms).
   * @defaultValue `3000`
   */
  maxAgeSecs?: number;
  /**
   * Uses (marks) after which the session expires and retires.
   * @defaultValue `50`
   */
  maxUsageCount?: number;
  /**
   * Error score at which the session is blocked and retires.
   * @defaultValue `3`
   */
  maxErrorScore?: number;
  /**
   * How much each `markGood()` lowers the error score.
   * @defaultValue `0.5`
   */
  errorScoreDecrement?: number;
  /**
   * Free-form data kept with the session (and persisted with it).
   * @defaultValue `{}`
   */
  userData?: Record<string, unknown>;
}

/** How `getSession()` chooses among existing sessions once the pool is full. */
export type SessionReuseStrategy = 'random' | 'round-robin' | 'use-until-failure';

/** An XState inspection observer or callback, as taken by `createActor(…, { inspect })`. */
export type InspectOption = Observer<InspectionEvent> | ((event: InspectionEvent) => void);

/**
 * Builds the options of each new session. May be async. Return `sessionOptions` (possibly changed) to keep the
 * defaults; return an `id` to choose the session's id.
 */
export type CreateSessionFunction<Pool> = (
  pool: Pool,
  context: { sessionOptions: SessionOptions },
) => SessionOptions | Promise<SessionOptions>;

/** Options of a `SessionPool`; names follow Crawlee's `SessionPoolOptions`. */
export interface SessionPoolOptions<Pool = unknown> extends PersistenceOptions, HttpPoolOptions {
  /**
   * Most sessions alive at once.
   * @defaultValue `1000`
   */
  maxPoolSize?: number;
  /**
   * Defaults for every session the pool creates.
   * @defaultValue `{}` (the session defaults above)
   */
  sessionOptions?: SessionOptions;
  /**
   * Response status codes that retire a session.
   * @defaultValue `[401, 403, 429]`
   */
  blockedStatusCodes?: number[];
  /**
   * Builds the options of each new session.
   * @defaultValue `undefined` (sessions take `sessionOptions`)
   */
  createSessionFunction?: CreateSessionFunction<Pool>;
  /**
   * How `getSession()` picks a session once the pool is full.
   * @defaultValue `'random'`
   */
  sessionReuseStrategy?: SessionReuseStrategy;
  /**
   * XState inspector (e.g. from `@statelyai/inspect`), attached to the pool's root actor.
   * @defaultValue `undefined` (not inspected)
   */
  inspect?: InspectOption;
  /**
   * A pino-style logger (`debug`/`info`/`warn`/`error`, a record first): retirements and restores at `info`,
   * persistence trouble at `warn`, rejected cookies and events at `debug`, secrets redacted.
   * @defaultValue `undefined` (silent)
   */
  logger?: Logger;
  /**
   * Time source; pass xstate's `SimulatedClock` in tests.
   * @defaultValue the wall clock (`Date.now`, `setTimeout`)
   */
  clock?: Clock;
  /**
   * Most cookies one session's jar keeps; the oldest is evicted beyond it.
   * @defaultValue `1000`
   */
  maxCookiesPerSession?: number;
  /**
   * Most cookies one session keeps per domain; the oldest is evicted beyond it.
   * @defaultValue `180`
   */
  maxCookiesPerDomain?: number;
  /**
   * Sessions per supervising shard (an internal scaling knob).
   * @defaultValue `128`
   */
  shardCapacity?: number;
  /**
   * Shares the pool's sessions with other processes through a fleet store, e.g. `redisFleet({ redisUrl })` from
   * `session-supervisor/redis`: uses are reserved fleet-wide, `maxPoolSize` and the session limits hold for the
   * whole fleet. Not with `store` (the fleet keeps the sessions).
   * @defaultValue `undefined` (the pool is this process's alone)
   */
  fleet?: SessionFleet;
}

export interface ResolvedSessionOptions {
  maxAgeSecs: number;
  maxUsageCount: number;
  maxErrorScore: number;
  errorScoreDecrement: number;
  userData: Record<string, unknown>;
}

export interface ResolvedPoolOptions<Pool> {
  maxPoolSize: number;
  sessionOptions: ResolvedSessionOptions;
  blockedStatusCodes: readonly number[];
  createSessionFunction: CreateSessionFunction<Pool> | undefined;
  sessionReuseStrategy: SessionReuseStrategy;
  inspect: InspectOption | undefined;
  logger: Logger | undefined;
  clock: Clock | undefined;
  maxCookiesPerSession: number;
  maxCookiesPerDomain: number;
  shardCapacity: number;
  fleet: SessionFleet | undefined;
  persistence: ResolvedPersistenceOptions;
  http: ResolvedHttpOptions;
}

export const DEFAULT_SESSION_OPTIONS: Readonly<ResolvedSessionOptions> = Object.freeze({
  maxAgeSecs: 3000,
  maxUsageCount: 50,
  maxErrorScore: 3,
  errorScoreDecrement: 0.5,
  userData: {},
});

export const DEFAULT_BLOCKED_STATUS_CODES: readonly number[] = Object.freeze([401, 403, 429]);

const REUSE_STRATEGIES: readonly SessionReuseStrategy[] = ['random', 'round-robin', 'use-until-failure'];

/** Names of the pool's own options (HTTP and persistence options have their lists beside them). */
export const CORE_POOL_OPTION_NAMES: readonly string[] = [
  'maxPoolSize',
  'sessionOptions',
  'blockedStatusCodes',
  'createSessionFunction',
  'sessionReuseStrategy',
  'inspect',
  'logger',
  'clock',
  'maxCookiesPerSession',
  'maxCookiesPerDomain',
  'shardCapacity',
  'fleet',
];

const POOL_OPTION_NAMES = new Set([
  ...PERSISTENCE_OPTION_NAMES,
  ...HTTP_OPTION_NAMES,
  ...CORE_POOL_OPTION_NAMES,
]);

const SESSION_OPTION_NAMES = new Set([
  'id',
  'maxAgeSecs',
  'maxUsageCount',
  'maxErrorScore',
  'errorScoreDecrement',
  'userData',
]);

interface NumberRule {
  integer?: boolean;
  min: number;
  minExclusive?: boolean;
  max?: number;
}

/** Checks a numeric option; `undefined` yields the fallback. */
export function numberOption(field: string, value: unknown, fallback: number, rule: NumberRule): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new InvalidOptionError(field, `expected a number, got ${describeValue(value)}`);
  }
  if (!Number.isFinite(value)) throw new InvalidOptionError(field, `expected a finite number, got ${value}`);
  if (rule.integer && !Number.isInteger(value)) {
    throw new InvalidOptionError(field, `expected a whole number, got ${value}`);
  }
  if (rule.minExclusive ? value <= rule.min : value < rule.min) {
    throw new InvalidOptionError(
      field,
      `must be ${rule.minExclusive ? 'greater than' : 'at least'} ${rule.min}, got ${value}`,
    );
  }
  if (rule.max !== undefined && value > rule.max) {
    throw new InvalidOptionError(field, `must be at most ${rule.max}, got ${value}`);
  }
  return value;
}

function assertPlainObject(field: string, value: unknown): asserts value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidOptionError(field, `expected an object, got ${describeValue(value)}`);
  }
}

function rejectUnknownKeys(prefix: string, value: Record<string, unknown>, known: ReadonlySet<string>): void {
  for (const key of Object.keys(value)) {
    if (!known.has(key)) throw new InvalidOptionError(`${prefix}${key}`, 'unknown option');
  }
}

/**
 * Validates session options field by field over `base`. `prefix` names where they came from, so the error says
 * e.g. `sessionOptions.maxAgeSecs`.
 */
export function resolveSessionOptions(
  options: unknown,
  base: Readonly<ResolvedSessionOptions>,
  prefix: string,
): ResolvedSessionOptions & { id?: string } {
  if (options === undefined) return { ...base };
  assertPlainObject(prefix.replace(/\.$/, '') || 'sessionOptions', options);
  rejectUnknownKeys(prefix, options, SESSION_OPTION_NAMES);
  const { id, userData } = options;
  if (id !== undefined && (typeof id !== 'string' || id.length === 0)) {
    throw new InvalidOptionError(`${prefix}id`, `expected a non-empty string, got ${describeValue(id)}`);
  }
  if (userData !== undefined) assertPlainObject(`${prefix}userData`, userData);
  const resolved: ResolvedSessionOptions & { id?: string } = {
    maxAgeSecs: numberOption(`${prefix}maxAgeSecs`, options.maxAgeSecs, base.maxAgeSecs, {
      min: 0,
      minExclusive: true,
      max: MAX_DEADLINE_MS / 1000,
    }),
    maxUsageCount: numberOption(`${prefix}maxUsageCount`, options.maxUsageCount, base.maxUsageCount, {
      integer: true,
      min: 1,
    }),
    maxErrorScore: numberOption(`${prefix}maxErrorScore`, options.maxErrorScore, base.maxErrorScore, {
      min: 0,
      minExclusive: true,
    }),
    errorScoreDecrement: numberOption(
      `${prefix}errorScoreDecrement`,
      options.errorScoreDecrement,
      base.errorScoreDecrement,
      { min: 0 },
    ),
    userData: (userData as Record<string, unknown> | undefined) ?? { ...base.userData },
  };
  if (id !== undefined) resolved.id = id;
  return resolved;
}

function statusCodes(field: string, value: unknown): readonly number[] {
  if (value === undefined) return DEFAULT_BLOCKED_STATUS_CODES;
  if (!Array.isArray(value))
    throw new InvalidOptionError(field, `expected an array of status codes, got ${describeValue(value)}`);
  return Object.freeze(
    value.map((code, index) =>
      numberOption(`${field}[${index}]`, code, 0, { integer: true, min: 100, max: 599 }),
    ),
  );
}

/** Validates pool options; throws `InvalidOptionError` naming the first bad field. */
export function resolvePoolOptions<Pool>(options: unknown): ResolvedPoolOptions<Pool> {
  const input = options ?? {};
  assertPlainObject('options', input);
  rejectUnknownKeys('', input, POOL_OPTION_NAMES);
  const strategy = input.sessionReuseStrategy ?? 'random';
  if (!REUSE_STRATEGIES.includes(strategy as SessionReuseStrategy)) {
    throw new InvalidOptionError(
      'sessionReuseStrategy',
      `expected one of ${REUSE_STRATEGIES.join(', ')}, got ${describeValue(strategy)}`,
    );
  }
  if (input.createSessionFunction !== undefined && typeof input.createSessionFunction !== 'function') {
    throw new InvalidOptionError(
      'createSessionFunction',
      `expected a function, got ${describeValue(input.createSessionFunction)}`,
    );
  }
  const inspect = input.inspect;
  if (
    inspect !== undefined &&
    typeof inspect !== 'function' &&
    (typeof inspect !== 'object' || inspect === null)
  ) {
    throw new InvalidOptionError(
      'inspect',
      `expected an observer or a function, got ${describeValue(inspect)}`,
    );
  }
  const clock = input.clock as Clock | undefined;
  if (
    clock !== undefined &&
    (typeof clock !== 'object' || typeof clock?.now !== 'function' || typeof clock.setTimeout !== 'function')
  ) {
    throw new InvalidOptionError('clock', 'expected an object with now(), setTimeout() and clearTimeout()');
  }
  const fleet = input.fleet;
  if (fleet !== undefined && !isSessionFleet(fleet)) {
    throw new InvalidOptionError(
      'fleet',
      `expected a fleet such as redisFleet(…), got ${describeValue(fleet)}`,
    );
  }
  if (fleet !== undefined && input.store !== undefined) {
    throw new InvalidOptionError(
      'store',
      'a fleet pool keeps its sessions in the fleet: drop store or fleet',
    );
  }
  const { id: _ignoredId, ...sessionOptions } = resolveSessionOptions(
    input.sessionOptions,
    DEFAULT_SESSION_OPTIONS,
    'sessionOptions.',
  );
  return {
    maxPoolSize: numberOption('maxPoolSize', input.maxPoolSize, 1000, { integer: true, min: 1 }),
    sessionOptions,
    blockedStatusCodes: statusCodes('blockedStatusCodes', input.blockedStatusCodes),
    createSessionFunction: input.createSessionFunction as CreateSessionFunction<Pool> | undefined,
    sessionReuseStrategy: strategy as SessionReuseStrategy,
    inspect: inspect as InspectOption | undefined,
    logger: resolveLogger(input.logger),
    clock,
    maxCookiesPerSession: numberOption('maxCookiesPerSession', input.maxCookiesPerSession, 1000, {
      integer: true,
      min: 1,
      max: 2000,
    }),
    maxCookiesPerDomain: numberOption('maxCookiesPerDomain', input.maxCookiesPerDomain, 180, {
      integer: true,
      min: 1,
    }),
    fleet: fleet as SessionFleet | undefined,
    persistence: resolvePersistenceOptions(input),
    http: resolveHttpOptions(input),
    shardCapacity: numberOption('shardCapacity', input.shardCapacity, 128, {
      integer: true,
      min: 1,
      max: 100_000,
    }),
  };
}
