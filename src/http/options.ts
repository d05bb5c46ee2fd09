/**
 * The HTTP options of a pool, validated into their resolved form. Kept apart from src/options.ts (which spreads
 * them into `SessionPoolOptions`) so the HTTP layer owns its own rules.
 */
import type { Agent } from 'undici';
import { describeValue } from '../describe-value.js';
import { InvalidOptionError } from '../errors.js';
import { type ProxyConfig, parseProxyUrl } from './proxy.js';
import type { HeaderProfile, InitSessionFunction, RetryAfterPolicy, SessionChecker } from './types.js';

/** HTTP options of a `SessionPool` (see the README, "Crawling through sessions (HTTP)"). */
export interface HttpPoolOptions {
  /**
   * Proxies (`http://`, `https://`, `socks5://`, credentials allowed); new sessions take them round-robin.
   * @defaultValue `[]` (direct connections)
   */
  proxyUrls?: readonly (string | URL)[];
  /**
   * Header profiles (user agent and others); new sessions take them round-robin, each keeps its own for life.
   * @defaultValue `[]` (undici's default headers)
   */
  headerProfiles?: readonly HeaderProfile[];
  /**
   * Declares a response a failure although its status is fine (a captcha page).
   * @defaultValue `undefined` (status codes alone decide)
   */
  sessionChecker?: SessionChecker;
  /**
   * Check failures a session may have; at this count it retires (`checkFailed`).
   * @defaultValue `1`
   */
  maxCheckFailures?: number;
  /**
   * What a blocked status (429, or 503) with `Retry-After` does: `retire` (default) or `coolDown`.
   * @defaultValue `'retire'`
   */
  retryAfterPolicy?: RetryAfterPolicy;
  /**
   * Retries of a blocked or failed `pool.fetch` on other sessions.
   * @defaultValue `3`
   */
  maxSessionRotations?: number;
  /**
   * Prepares each fresh session (warm-up, login) before it is handed out.
   * @defaultValue `undefined` (sessions are handed out as created)
   */
  initSession?: InitSessionFunction;
  /**
   * Failed initializations in a row after which the pool stops handing out sessions.
   * @defaultValue `8`
   */
  maxBadInits?: number;
  /**
   * Most requests one session serves at once.
   * @defaultValue `Number.MAX_SAFE_INTEGER` (no limit)
   */
  maxConcurrencyPerSession?: number;
  /**
   * Least time between the starts of two requests of one session, in ms.
   * @defaultValue `0`
   */
  minDelayBetweenUsesMs?: number;
  /**
   * Deadline of one request attempt, in ms.
   * @defaultValue `30_000`
   */
  requestTimeoutMs?: number;
  /**
   * Largest response body `pool.fetch` reads, in bytes.
   * @defaultValue `10_485_760` (10 MiB)
   */
  maxBodyBytes?: number;
  /**
   * Redirects followed per request.
   * @defaultValue `10`
   */
  maxRedirections?: number;
  /**
   * Longest wait for a usable session (cool-downs, pacing, renewal), in ms of the pool clock.
   * @defaultValue `60_000`
   */
  sessionWaitTimeoutMs?: number;
  /**
   * Options of each session's undici `Agent`/`ProxyAgent` (e.g. `connect: { rejectUnauthorized }`).
   * @defaultValue `{}`
   */
  agentOptions?: Agent.Options;
  /**
   * Status codes that do not count against the session although they are errors (Crawlee's option of the same
   * name): a listed 5xx is a success for the session. Blocked status codes still retire the session.
   * @defaultValue `[]`
   * @example
   * ```ts
   * // The site answers 500 for pages that do not exist; that says nothing about the session.
   * const pool = await SessionPool.open({ ignoreHttpErrorStatusCodes: [500] });
   * ```
   */
  ignoreHttpErrorStatusCodes?: readonly number[];
  /**
   * Status codes that count as failures although they are not 5xx (Crawlee's option of the same name): error
   * score +1, and `pool.fetch` tries another session. Blocked status codes still retire the session.
   * @defaultValue `[]`
   * @example
   * ```ts
   * // A 202 "queued" page means this session was throttled.
   * const pool = await SessionPool.open({ additionalHttpErrorStatusCodes: [202] });
   * ```
   */
  additionalHttpErrorStatusCodes?: readonly number[];
}

export interface ResolvedHttpOptions {
  proxies: readonly ProxyConfig[];
  headerProfiles: readonly Readonly<HeaderProfile>[];
  sessionChecker: SessionChecker | undefined;
  maxCheckFailures: number;
  retryAfterPolicy: RetryAfterPolicy;
  maxSessionRotations: number;
  initSession: InitSessionFunction | undefined;
  maxBadInits: number;
  maxConcurrencyPerSession: number;
  minDelayBetweenUsesMs: number;
  requestTimeoutMs: number;
  maxBodyBytes: number;
  maxRedirections: number;
  sessionWaitTimeoutMs: number;
  agentOptions: Agent.Options;
  ignoreHttpErrorStatusCodes: ReadonlySet<number>;
  additionalHttpErrorStatusCodes: ReadonlySet<number>;
}

/** Names of the HTTP pool options, for the pool's unknown-option check. */
export const HTTP_OPTION_NAMES: readonly string[] = [
  'proxyUrls',
  'headerProfiles',
  'sessionChecker',
  'maxCheckFailures',
  'retryAfterPolicy',
  'maxSessionRotations',
  'initSession',
  'maxBadInits',
  'maxConcurrencyPerSession',
  'minDelayBetweenUsesMs',
  'requestTimeoutMs',
  'maxBodyBytes',
  'maxRedirections',
  'sessionWaitTimeoutMs',
  'agentOptions',
  'ignoreHttpErrorStatusCodes',
  'additionalHttpErrorStatusCodes',
];

/** Longest delay a timer can take. */
const MAX_DELAY_MS = 2_147_483_647;

/** Checks a whole number in [min, max]; `undefined` yields the fallback. */
export function intOption(
  field: string,
  value: unknown,
  fallback: number,
  min: number,
  max = MAX_DELAY_MS,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new InvalidOptionError(
      field,
      `expected a whole number, got ${typeof value === 'number' ? value : typeof value}`,
    );
  }
  if (value < min) throw new InvalidOptionError(field, `must be at least ${min}, got ${value}`);
  if (value > max) throw new InvalidOptionError(field, `must be at most ${max}, got ${value}`);
  return value;
}

function functionOption<T>(field: string, value: unknown): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function')
    throw new InvalidOptionError(field, `expected a function, got ${typeof value}`);
  return value as T;
}

function headerProfiles(value: unknown): readonly Readonly<HeaderProfile>[] {
  if (value === undefined) return [];
  if (!Array.isArray(value))
    throw new InvalidOptionError('headerProfiles', 'expected an array of header profiles');
  return value.map((profile: unknown, index) => {
    const field = `headerProfiles[${index}]`;
    if (typeof profile !== 'object' || profile === null || Array.isArray(profile)) {
      throw new InvalidOptionError(field, 'expected an object with userAgent and/or headers');
    }
    const { name, userAgent, headers } = profile as Record<string, unknown>;
    if (name !== undefined && typeof name !== 'string')
      throw new InvalidOptionError(`${field}.name`, 'expected a string');
    if (userAgent !== undefined && (typeof userAgent !== 'string' || /[\r\n]/.test(userAgent))) {
      throw new InvalidOptionError(`${field}.userAgent`, 'expected a single-line string');
    }
    if (headers !== undefined) {
      if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
        throw new InvalidOptionError(`${field}.headers`, 'expected an object of header names to values');
      }
      for (const [key, headerValue] of Object.entries(headers)) {
        if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(key)) {
          throw new InvalidOptionError(`${field}.headers`, `invalid header name "${key}"`);
        }
        if (typeof headerValue !== 'string' || /[\r\n\0]/.test(headerValue)) {
          throw new InvalidOptionError(`${field}.headers.${key}`, 'expected a single-line string');
        }
      }
    }
    return Object.freeze({
      name: (name as string | undefined) ?? `profile-${index}`,
      ...(userAgent === undefined ? {} : { userAgent: userAgent as string }),
      headers: Object.freeze({ ...((headers as Record<string, string> | undefined) ?? {}) }),
    });
  });
}

/** Checks a list of HTTP status codes (whole numbers in [100, 599]). */
function statusCodeSet(field: string, value: unknown): ReadonlySet<number> {
  if (value === undefined) return new Set();
  if (!Array.isArray(value)) throw new InvalidOptionError(field, 'expected an array of HTTP status codes');
  value.forEach((code: unknown, index) => {
    intOption(`${field}[${index}]`, code, 0, 100, 599);
  });
  return new Set(value as number[]);
}

/** Validates the HTTP options of a pool; throws `InvalidOptionError` naming the first bad field. */
export function resolveHttpOptions(input: Record<string, unknown>): ResolvedHttpOptions {
  const proxyUrls = input.proxyUrls;
  if (proxyUrls !== undefined && !Array.isArray(proxyUrls)) {
    throw new InvalidOptionError('proxyUrls', 'expected an array of proxy URLs');
  }
  const policy = input.retryAfterPolicy ?? 'retire';
  if (policy !== 'retire' && policy !== 'coolDown') {
    throw new InvalidOptionError(
      'retryAfterPolicy',
      `expected 'retire' or 'coolDown', got ${describeValue(policy)}`,
    );
  }
  const agentOptions = input.agentOptions ?? {};
  if (typeof agentOptions !== 'object' || agentOptions === null || Array.isArray(agentOptions)) {
    throw new InvalidOptionError('agentOptions', 'expected an object of undici Agent options');
  }
  return {
    proxies: Object.freeze(
      (proxyUrls ?? []).map((url: unknown, i: number) => parseProxyUrl(url, `proxyUrls[${i}]`)),
    ),
    headerProfiles: Object.freeze(headerProfiles(input.headerProfiles)),
    sessionChecker: functionOption<SessionChecker>('sessionChecker', input.sessionChecker),
    maxCheckFailures: intOption('maxCheckFailures', input.maxCheckFailures, 1, 1),
    retryAfterPolicy: policy,
    maxSessionRotations: intOption('maxSessionRotations', input.maxSessionRotations, 3, 0, 1000),
    initSession: functionOption<InitSessionFunction>('initSession', input.initSession),
    maxBadInits: intOption('maxBadInits', input.maxBadInits, 8, 1),
    maxConcurrencyPerSession: intOption(
      'maxConcurrencyPerSession',
      input.maxConcurrencyPerSession,
      Number.MAX_SAFE_INTEGER,
      1,
      Number.MAX_SAFE_INTEGER,
    ),
    minDelayBetweenUsesMs: intOption('minDelayBetweenUsesMs', input.minDelayBetweenUsesMs, 0, 0),
    requestTimeoutMs: intOption('requestTimeoutMs', input.requestTimeoutMs, 30_000, 1),
    maxBodyBytes: intOption('maxBodyBytes', input.maxBodyBytes, 10 * 1024 * 1024, 0, Number.MAX_SAFE_INTEGER),
    maxRedirections: intOption('maxRedirections', input.maxRedirections, 10, 0, 100),
    sessionWaitTimeoutMs: intOption('sessionWaitTimeoutMs', input.sessionWaitTimeoutMs, 60_000, 0),
    agentOptions: agentOptions as Agent.Options,
    ignoreHttpErrorStatusCodes: statusCodeSet('ignoreHttpErrorStatusCodes', input.ignoreHttpErrorStatusCodes),
    additionalHttpErrorStatusCodes: statusCodeSet(
      'additionalHttpErrorStatusCodes',
      input.additionalHttpErrorStatusCodes,
    ),
  };
}
