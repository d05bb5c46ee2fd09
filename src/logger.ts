/**
 * Production logging: turns a pool's events into log records on any pino-style logger (a `debug`/`info`/`warn`/
 * `error` method taking an object first, then a message). Silent unless a logger is given. Levels follow what an
 * operator wants to see: retirements and restores at `info`, persistence and Redis trouble at `warn`, the
 * routine noise of a crawl (cookies refused by the jar, events for sessions that are gone, writes that landed) at
 * `debug`. Every record goes through the library's one redactor, so proxy passwords, tokens and cookie values
 * never reach the log.
 */

import { describeValue } from './describe-value.js';
import { InvalidOptionError } from './errors.js';
import type { SessionPoolEvents } from './pool-events.js';
import { redactValue } from './redact.js';

/** The levels this library logs at. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * A pino-style logger: pino, a pino child logger, or anything with these four methods taking a record first and a
 * message second (`console` works too, less prettily).
 *
 * @example
 * ```ts
 * import pino from 'pino';
 * import { SessionPool } from 'session-supervisor';
 *
 * const pool = await SessionPool.open({ logger: pino({ level: 'info' }) });
 * ```
 */
export interface Logger {
  debug(record: object, message?: string): void;
  info(record: object, message?: string): void;
  warn(record: object, message?: string): void;
  error(record: object, message?: string): void;
  /** pino's level check; when present, records below the logger's level are not even built. */
  isLevelEnabled?(level: string): boolean;
}

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** Validates the `logger` option: `undefined` (silent) or an object with the four level methods. */
export function resolveLogger(value: unknown, field = 'logger'): Logger | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) {
    throw new InvalidOptionError(field, `expected a logger object (pino-style), got ${describeValue(value)}`);
  }
  const missing = LEVELS.filter((level) => typeof (value as Record<string, unknown>)[level] !== 'function');
  if (missing.length > 0) {
    throw new InvalidOptionError(
      field,
      `expected a logger with ${LEVELS.join(', ')} methods; missing ${missing}`,
    );
  }
  return value as Logger;
}

type LoggedEvents = Omit<SessionPoolEvents, 'sessionCreated' | 'sessionStateChanged'>;

/** The names of the events `attachLogger` listens to (creations and state changes are left to the inspector). */
export type LoggedEventName = keyof LoggedEvents;

// biome-ignore lint/suspicious/noExplicitAny: listeners of different events take different arguments
type AnyListener = (...args: any[]) => void;

/**
 * A pool whose events can be logged: anything with eventemitter3-style
 * `on`/`off`. The parameters are `never` so that emitters typed with their own event maps fit.
 */
export interface LogSource {
  on(event: never, listener: never): unknown;
  off(event: never, listener: never): unknown;
}

interface LooseEmitter {
  on(event: LoggedEventName, listener: AnyListener): unknown;
  off(event: LoggedEventName, listener: AnyListener): unknown;
}

type Write = (level: LogLevel, message: string, record: () => Record<string, unknown>) => void;

/** What each event becomes: a level, a message and the record's fields. */
const RULES: { readonly [E in LoggedEventName]: (write: Write) => LoggedEvents[E] } = {
  sessionRetired: (write) => (event) =>
    write('info', 'session retired', () => ({
      sessionId: event.session.id,
      reason: event.reason,
      usageCount: event.state.usageCount,
      errorScore: event.state.errorScore,
      blockedStatusCode: event.state.blockedStatusCode,
    })),
  eventRejected: (write) => (event) =>
    write('debug', 'event rejected: no live session with this id', () => ({ ...event })),
  cookieRejected: (write) => (rejection) =>
    write('debug', 'cookie rejected by the jar', () => ({ ...rejection })),
  cookiesEvicted: (write) => (event) =>
    write('debug', 'cookies evicted to stay within the jar limits', () => ({ ...event })),
  persistError: (write) => (event) =>
    write('warn', 'could not persist the pool state; the next write retries', () => ({
      location: event.location,
      attempt: event.attempt,
      err: event.error,
    })),
  statePersisted: (write) => (event) => write('debug', 'pool state persisted', () => ({ ...event })),
  stateRestored: (write) => (event) => {
    const record = () => ({
      location: event.location,
      savedAt: event.savedAt,
      restored: event.restored,
      retired: event.retired,
      dropped: event.dropped.length,
      ...(event.discarded ? { err: event.discarded, movedTo: event.movedTo } : {}),
    });
    if (event.discarded) write('warn', 'saved pool state could not be loaded; starting fresh', record);
    else write('info', 'pool state restored', record);
  },
  connectionLost: (write) => (event) =>
    write('warn', 'fleet store connection lost; grants wait until it answers', () => ({ err: event.error })),
  connectionRestored: (write) => () => write('info', 'fleet store connection restored', () => ({})),
  stateLost: (write) => (event) =>
    write('warn', "the fleet store lost the pool's state; its sessions and leases are gone", () => ({
      previousGeneration: event.previousGeneration,
      generation: event.generation,
      sessionsLost: event.sessionsLost.length,
      leasesLost: event.leasesLost.length,
    })),
  leaseLost: (write) => (event) =>
    write('warn', 'session lease lost before its release; its request was aborted', () => ({
      sessionId: event.sessionId,
      err: event.error,
    })),
};

/** Every event `attachLogger` logs by default. */
export const LOGGED_EVENTS = Object.freeze(Object.keys(RULES) as LoggedEventName[]);

/** Options of `attachLogger`. */
export interface AttachLoggerOptions {
  /**
   * The events to log.
   * @defaultValue every event listed in {@link LOGGED_EVENTS}
   */
  events?: readonly LoggedEventName[];
  /**
   * Fields added to every record, e.g. `{ worker: 3 }`.
   * @defaultValue `{}`
   */
  bindings?: Record<string, unknown>;
}

/**
 * Logs a pool's events to `logger` (see the module comment for levels); returns a function that stops it. The
 * pool calls this itself when given the `logger` option; call it directly to log a pool you did not configure.
 * A logger that throws is ignored: logging never breaks a crawl.
 *
 * @example
 * ```ts
 * import { attachLogger, SessionPool } from 'session-supervisor';
 *
 * const pool = await SessionPool.open();
 * const detach = attachLogger(pool, console);
 * // … crawl …
 * detach();
 * ```
 */
export function attachLogger(pool: LogSource, logger: Logger, options: AttachLoggerOptions = {}): () => void {
  const source = pool as unknown as LooseEmitter;
  const checked = resolveLogger(logger) as Logger;
  const bindings = options.bindings ?? {};
  const writerFor =
    (event: LoggedEventName): Write =>
    (level, message, record) => {
      try {
        if (checked.isLevelEnabled?.(level) === false) return;
        checked[level](redactValue({ ...bindings, event, ...record() }) as Record<string, unknown>, message);
      } catch {
        // A broken logger must not break the pool's event delivery.
      }
    };
  const attached: Array<[LoggedEventName, AnyListener]> = [];
  for (const name of options.events ?? LOGGED_EVENTS) {
    const rule = RULES[name];
    if (typeof rule !== 'function') {
      throw new InvalidOptionError('events', `no such logged event "${String(name)}"`);
    }
    const listener = rule(writerFor(name)) as AnyListener;
    source.on(name, listener);
    attached.push([name, listener]);
  }
  return () => {
    for (const [name, listener] of attached.splice(0)) source.off(name, listener);
  };
}
