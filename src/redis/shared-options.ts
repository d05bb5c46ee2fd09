import { sessionContextFrom } from '../../machines/session.machine.js';
import { InvalidOptionError } from '../errors.js';
import {
  type CreateSessionFunction,
  numberOption,
  type ResolvedPoolOptions,
  resolvePoolOptions,
  type SessionOptions,
  type SessionPoolOptions,
} from '../options.js';
import { buildSessionInput } from '../session-input.js';
import type { SessionPoolEvents } from '../session-pool.js';
import type { PersistedSessionRecord } from '../stores/types.js';
import type { SessionLease } from './lease.js';
import { REDIS_CONNECTION_OPTION_NAMES, type RedisConnectionOptions } from './options.js';

/** Options of a shared pool: the pool options (but not persistence: Redis is the store) plus Redis's. */
export interface SharedSessionPoolOptions<Pool = unknown>
  extends Omit<
      SessionPoolOptions<Pool>,
      | 'store'
      | 'persistenceMode'
      | 'persistStateIntervalMillis'
      | 'persistStateKey'
      | 'persistStateDir'
      | 'startFresh'
    >,
    RedisConnectionOptions {
  /**
   * Lease time-to-live in ms (Redis time); a lease is renewed every third of it while held.
   * @defaultValue `30_000`
   */
  leaseTtlMs?: number;
}

/** Events of a shared pool: the local pool's events, plus leases and the Redis connection. */
export interface SharedSessionPoolEvents
  extends Pick<
    SessionPoolEvents,
    'sessionCreated' | 'sessionRetired' | 'sessionStateChanged' | 'cookieRejected' | 'persistError'
  > {
  leaseAcquired: (lease: SessionLease) => void;
  leaseReleased: (lease: SessionLease) => void;
  /** A held lease lapsed in Redis (renewal came too late); another worker may now take the session. */
  leaseLost: (lease: SessionLease) => void;
  /** The Redis connection dropped: hand-outs pause (updates wait in the client's queue). */
  connectionLost: () => void;
  /** The connection is back: the mirror has caught up and hand-outs resume. */
  connectionRestored: () => void;
}

export const FORWARDED_EVENTS = [
  'sessionCreated',
  'sessionRetired',
  'sessionStateChanged',
  'cookieRejected',
  'persistError',
] as const;

/** Persistence options make no sense here: Redis is the store, written through. */
const EXCLUDED_OPTIONS = [
  'store',
  'persistenceMode',
  'persistStateIntervalMillis',
  'persistStateKey',
  'persistStateDir',
  'startFresh',
];

export interface ResolvedSharedOptions<Pool> {
  redis: Record<string, unknown>;
  /** Options for the local mirror pool (without `maxPoolSize` and `createSessionFunction`). */
  local: Record<string, unknown>;
  resolved: ResolvedPoolOptions<Pool>;
  maxPoolSize: number;
  leaseTtlMs: number;
}

/** Validates a shared pool's options; `InvalidOptionError` names the first bad field. */
export function resolveSharedOptions<Pool>(options: unknown): ResolvedSharedOptions<Pool> {
  const input = (options ?? {}) as Record<string, unknown>;
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw new InvalidOptionError('options', 'expected an object');
  }
  for (const name of EXCLUDED_OPTIONS) {
    if (input[name] !== undefined)
      throw new InvalidOptionError(name, 'a shared pool keeps its state in Redis');
  }
  const redis: Record<string, unknown> = {};
  const local: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (REDIS_CONNECTION_OPTION_NAMES.includes(key)) redis[key] = value;
    else if (key !== 'leaseTtlMs' && key !== 'maxPoolSize' && key !== 'createSessionFunction')
      local[key] = value;
  }
  // A simulated user does one thing at a time unless told otherwise.
  local.maxConcurrencyPerSession ??= 1;
  const leaseTtlMs = numberOption('leaseTtlMs', input.leaseTtlMs, 30_000, {
    integer: true,
    min: 100,
    max: 86_400_000,
  });
  const maxPoolSize = numberOption('maxPoolSize', input.maxPoolSize, 1000, {
    integer: true,
    min: 1,
    max: 1_000_000,
  });
  const resolved = resolvePoolOptions<Pool>({
    ...local,
    maxPoolSize,
    createSessionFunction: input.createSessionFunction,
  });
  return { redis, local, resolved, maxPoolSize, leaseTtlMs };
}

/** The record of a new session, built like the local pool builds one (`createSessionFunction`, defaults). */
export async function newSessionRecord<Pool>(
  pool: Pool,
  options: ResolvedPoolOptions<Pool>,
  now: number,
): Promise<PersistedSessionRecord> {
  const create = options.createSessionFunction as CreateSessionFunction<Pool> | undefined;
  const defaults = options.sessionOptions;
  const given: SessionOptions = create ? await create(pool, { sessionOptions: { ...defaults } }) : {};
  const input = buildSessionInput(given, options, now);
  return { ...sessionContextFrom(input), blockedStatusCodes: [...input.blockedStatusCodes], cookieJar: null };
}
