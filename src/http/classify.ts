/**
 * Outcome classification: what a response or an error means for the session that served it. Pure functions;
 * applying the outcome to the session lives in outcome.ts.
 */
import type { ResolvedHttpOptions } from './options.js';

/**
 * - `good`: the session worked (2xx, 3xx, and 4xx that are not blocked codes: the page exists or not, the
 *   session is not at fault), and 5xx listed in `ignoreHttpErrorStatusCodes`;
 * - `bad`: 5xx, codes listed in `additionalHttpErrorStatusCodes`, network errors, timeouts, redirect loops:
 *   error score +1, worth retrying elsewhere;
 * - `blocked`: a blocked status code: the session retires;
 * - `coolDown`: a blocked code (or 503) with `Retry-After` under the `coolDown` policy: out of rotation until then.
 */
export type OutcomeKind = 'good' | 'bad' | 'blocked' | 'coolDown';

export interface Outcome {
  kind: OutcomeKind;
  /** For `coolDown`: how long, in ms. */
  retryAfterMs?: number;
}

const GOOD: Outcome = Object.freeze({ kind: 'good' });
const BAD: Outcome = Object.freeze({ kind: 'bad' });
const BLOCKED: Outcome = Object.freeze({ kind: 'blocked' });

/** Longest `Retry-After` honoured, so a hostile header cannot park a session beyond a timer's range. */
const MAX_RETRY_AFTER_MS = 24 * 60 * 60 * 1000;

/**
 * `Retry-After` in ms from now: delay-seconds or an HTTP date (compared with the wall clock, as the server
 * meant it). `undefined` when absent or malformed.
 */
export function parseRetryAfter(
  value: string | string[] | undefined,
  wallNow = Date.now(),
): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined) return undefined;
  const text = raw.trim();
  if (/^\d+$/.test(text)) return Math.min(Number(text) * 1000, MAX_RETRY_AFTER_MS);
  const date = Date.parse(text);
  if (Number.isNaN(date) || !/[a-z]/i.test(text)) return undefined;
  return Math.min(Math.max(0, date - wallNow), MAX_RETRY_AFTER_MS);
}

/**
 * What a status code (and its `Retry-After`) means for the session, under the pool's options. Blocked status
 * codes come first (they retire the session whatever the other lists say, as in Crawlee); then
 * `ignoreHttpErrorStatusCodes` keeps a listed 5xx from counting against the session, and
 * `additionalHttpErrorStatusCodes` makes a listed non-5xx count as a failure.
 */
export function classifyStatus(
  statusCode: number,
  retryAfter: string | string[] | undefined,
  blockedStatusCodes: readonly number[],
  options: Pick<
    ResolvedHttpOptions,
    'retryAfterPolicy' | 'ignoreHttpErrorStatusCodes' | 'additionalHttpErrorStatusCodes'
  >,
): Outcome {
  const blocked = blockedStatusCodes.includes(statusCode);
  const ignored = !blocked && options.ignoreHttpErrorStatusCodes.has(statusCode);
  if (
    options.retryAfterPolicy === 'coolDown' &&
    !ignored &&
    (statusCode === 429 || statusCode === 503 || blocked)
  ) {
    const retryAfterMs = parseRetryAfter(retryAfter);
    if (retryAfterMs !== undefined) return { kind: 'coolDown', retryAfterMs };
  }
  if (blocked) return BLOCKED;
  if (options.additionalHttpErrorStatusCodes.has(statusCode)) return BAD;
  if (statusCode >= 500 && !ignored) return BAD;
  return GOOD;
}

/** Every failure to get a response (network, proxy, timeout, redirect loop) counts against the session. */
export function classifyError(): Outcome {
  return BAD;
}

/** Whether the outcome should make `pool.fetch` try another session. */
export function isRetryable(outcome: Outcome): boolean {
  return outcome.kind !== 'good';
}
