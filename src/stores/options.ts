/**
 * The persistence options of a pool, checked field by field like every other option.
 */
import { join } from 'node:path';
import { MAX_TIMER_DELAY_MS } from '../../machines/session.machine.js';
import { describeValue } from '../describe-value.js';
import { InvalidOptionError } from '../errors.js';
import { FileSessionStore } from './file-store.js';
import { MemorySessionStore } from './memory-store.js';
import type { PersistenceMode, SessionStore } from './types.js';

/** Persistence options of `SessionPoolOptions`. */
export interface PersistenceOptions {
  /**
   * Where the pool keeps its state across restarts: `'file'` (one JSON file, written atomically; for real runs),
   * `'memory'` (this process only; for tests), or any `SessionStore`.
   * @defaultValue `undefined` (the pool is not persisted)
   */
  store?: 'memory' | 'file' | SessionStore;
  /**
   * Name of the state; with `store: 'file'` the file is `<persistStateDir>/<persistStateKey>.json`.
   * @defaultValue `'SESSION_POOL_STATE'`
   */
  persistStateKey?: string;
  /**
   * Directory of the state file with `store: 'file'`.
   * @defaultValue `'.session-supervisor'` (under the working directory)
   */
  persistStateDir?: string;
  /**
   * Milliseconds between checkpoints, on the pool's clock; 0 turns periodic checkpoints off.
   * @defaultValue `60_000`
   */
  persistStateIntervalMillis?: number;
  /**
   * `'checkpoint'` (default): the whole state is written periodically, on `persistState()` and on `teardown()`.
   * `'write-through'`: every change is also written (coalesced, one write in flight), and the pool reports a change
   * (`sessionCreated`, `sessionStateChanged`, `sessionRetired`) only once it is durable.
   * @defaultValue `'checkpoint'`
   */
  persistenceMode?: PersistenceMode;
  /**
   * Begin empty when the stored state cannot be loaded (it is moved aside, never deleted).
   * @defaultValue `false`
   */
  startFresh?: boolean;
}

export const PERSISTENCE_OPTION_NAMES: readonly string[] = [
  'store',
  'persistStateKey',
  'persistStateDir',
  'persistStateIntervalMillis',
  'persistenceMode',
  'startFresh',
];

export interface ResolvedPersistenceOptions {
  /** `undefined`: the pool is not persisted. */
  store: SessionStore | undefined;
  mode: PersistenceMode;
  intervalMillis: number;
  startFresh: boolean;
}

export const DEFAULT_PERSIST_STATE_KEY = 'SESSION_POOL_STATE';
export const DEFAULT_PERSIST_STATE_DIR = '.session-supervisor';
export const DEFAULT_PERSIST_STATE_INTERVAL_MILLIS = 60_000;

const STORE_METHODS = ['open', 'load', 'write', 'setAside', 'reset', 'close'] as const;

function isSessionStore(value: unknown): value is SessionStore {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return (
    typeof candidate.location === 'string' && STORE_METHODS.every((m) => typeof candidate[m] === 'function')
  );
}

function nonEmptyString(field: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidOptionError(
      field,
      `expected a non-empty string, got ${value === null ? 'null' : typeof value}`,
    );
  }
  return value;
}

/** Validates the persistence options of `input` (the whole pool options object). */
export function resolvePersistenceOptions(input: Record<string, unknown>): ResolvedPersistenceOptions {
  const key = nonEmptyString('persistStateKey', input.persistStateKey, DEFAULT_PERSIST_STATE_KEY);
  if (!/^[\w.-]+$/.test(key) || key === '.' || key === '..') {
    throw new InvalidOptionError(
      'persistStateKey',
      `use letters, digits, ".", "_" and "-" only, got "${key}"`,
    );
  }
  const dir = nonEmptyString('persistStateDir', input.persistStateDir, DEFAULT_PERSIST_STATE_DIR);
  const interval = input.persistStateIntervalMillis ?? DEFAULT_PERSIST_STATE_INTERVAL_MILLIS;
  if (
    typeof interval !== 'number' ||
    !Number.isInteger(interval) ||
    interval < 0 ||
    interval > MAX_TIMER_DELAY_MS
  ) {
    throw new InvalidOptionError(
      'persistStateIntervalMillis',
      `expected a whole number of milliseconds from 0 to ${MAX_TIMER_DELAY_MS}, got ${describeValue(interval)}`,
    );
  }
  const mode = input.persistenceMode ?? 'checkpoint';
  if (mode !== 'checkpoint' && mode !== 'write-through') {
    throw new InvalidOptionError(
      'persistenceMode',
      `expected "checkpoint" or "write-through", got ${describeValue(mode)}`,
    );
  }
  const startFresh = input.startFresh ?? false;
  if (typeof startFresh !== 'boolean') {
    throw new InvalidOptionError('startFresh', `expected a boolean, got ${typeof startFresh}`);
  }
  return { store: resolveStore(input.store, dir, key), mode, intervalMillis: interval, startFresh };
}

function resolveStore(value: unknown, dir: string, key: string): SessionStore | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === 'memory') return new MemorySessionStore({ name: key });
  if (value === 'file') return new FileSessionStore({ path: join(dir, `${key}.json`) });
  if (isSessionStore(value)) return value;
  throw new InvalidOptionError(
    'store',
    `expected "memory", "file" or a SessionStore (location, open, load, write, setAside, reset, close)`,
  );
}
