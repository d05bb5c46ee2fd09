/**
 * `pool.fetch`: one request, read in full, on a reserved use of a session; the outcome releases the use (applied
 * to the session that served it), a block or failure retries on other sessions (up to `maxSessionRotations`),
 * and a typed error names every attempt when it gives up. A request pinned to a session never rotates.
 */
import type { AcquireOptions } from '../acquisition/acquirer.js';
import type { SessionLease } from '../acquisition/lease.js';
import type { Clock } from '../clock.js';
import { describeValue } from '../describe-value.js';
import {
  type FetchAttemptSummary,
  InvalidOptionError,
  ResponseTooLargeError,
  SessionBlockedError,
  SessionRotationsExhaustedError,
} from '../errors.js';
import { classifyError, classifyStatus } from '../http/classify.js';
import { collect, type RawResponse } from '../http/collect.js';
import { isReplayableBody } from '../http/handlers.js';
import { intOption, type ResolvedHttpOptions } from '../http/options.js';
import { redactUrl } from '../http/proxy.js';
import type { SessionHttp } from '../http/session-http.js';
import type { SessionFetchInit, SessionResponse } from '../http/types.js';
import type { PoolTally } from '../pool-stats.js';
import type { Session } from '../session.js';
import { runChecker, settleCheckFailure, settleLease } from './outcome.js';

/** What `sessionFetch` needs from the pool's HTTP layer. */
export interface FetchHost {
  readonly clock: Clock;
  readonly options: ResolvedHttpOptions;
  readonly blockedStatusCodes: readonly number[];
  readonly tally: PoolTally;
  acquire(options: AcquireOptions): Promise<SessionLease>;
  transportOf(session: Session): SessionHttp;
  scrub(message: string): string;
}

class FetchedResponse implements SessionResponse {
  readonly url: string;
  readonly statusCode: number;
  readonly headers: Record<string, string | string[]>;
  readonly body: Buffer;
  readonly session: Session;
  readonly attempts: number;

  constructor(raw: RawResponse, session: Session, attempts: number) {
    this.url = raw.url;
    this.statusCode = raw.statusCode;
    this.headers = raw.headers;
    this.body = raw.body;
    this.session = session;
    this.attempts = attempts;
  }

  text(): string {
    return this.body.toString('utf8');
  }

  json<T = unknown>(): T {
    return JSON.parse(this.text()) as T;
  }
}

function targetUrl(input: string | URL): URL {
  let url: URL;
  try {
    url = input instanceof URL ? input : new URL(String(input));
  } catch {
    throw new InvalidOptionError('url', `not a valid absolute URL: ${redactUrl(String(input))}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidOptionError('url', `only http and https URLs can be fetched, got ${url.protocol}`);
  }
  return url;
}

function isAbort(error: unknown, signal: AbortSignal | undefined): boolean {
  return (
    signal?.aborted === true &&
    (error === signal.reason || (error as { name?: string })?.name === 'AbortError')
  );
}

function errorLabel(error: unknown): string {
  return (error as { code?: string })?.code ?? (error instanceof Error ? error.message : String(error));
}

/**
 * Fetches `input` through the pool's sessions. With `initOf`, the request is an `initSession` helper call:
 * pinned to that session, no reserved use, no outcome, no rotation.
 */
export async function sessionFetch(
  host: FetchHost,
  input: string | URL,
  init: SessionFetchInit = {},
  initOf?: Session,
): Promise<SessionResponse> {
  const url = targetUrl(input);
  const { options } = host;
  const method = init.method ?? 'GET';
  if (typeof method !== 'string' || !/^[A-Za-z]+$/.test(method)) {
    throw new InvalidOptionError('method', `expected an HTTP method name, got ${describeValue(method)}`);
  }
  const timeoutMs = intOption('timeoutMs', init.timeoutMs, options.requestTimeoutMs, 1);
  const signal = init.signal;
  const pinned = init.session;
  const rotations =
    initOf || pinned !== undefined || !isReplayableBody(init.body)
      ? 0
      : intOption('maxSessionRotations', init.maxSessionRotations, options.maxSessionRotations, 0, 1000);
  const collectOptions = {
    method: method.toUpperCase(),
    headers: init.headers,
    body: init.body as never,
    timeoutMs,
    maxBodyBytes: options.maxBodyBytes,
    maxRedirections: options.maxRedirections,
    signal,
    scrub: (message: string) => host.scrub(message),
  };
  if (initOf) {
    const raw = await collect(host.transportOf(initOf).core, url, collectOptions);
    return new FetchedResponse(raw, initOf, 1);
  }

  const attempts: FetchAttemptSummary[] = [];
  const tried = new Set<string>();
  let lastError: unknown;
  for (let attempt = 0; attempt <= rotations; attempt += 1) {
    const lease = await host.acquire(
      pinned === undefined ? { exclude: tried, signal } : { session: pinned, signal },
    );
    const session = lease.session;
    tried.add(session.id);
    let raw: RawResponse;
    try {
      // The caller's signal goes to the request; a fleet lease lost under it stops it too (another worker may be
      // granted the session); a teardown revokes the lease and destroys the agents.
      raw = await collect(
        host.transportOf(session).core,
        url,
        lease.losable ? { ...collectOptions, stopWhen: (stop) => lease.onLost(stop) } : collectOptions,
      );
    } catch (error) {
      // Neither the caller's abort nor an oversized page says anything about the session; both count the use.
      if (lease.aborted || isAbort(error, signal) || error instanceof ResponseTooLargeError) {
        lease.release('aborted');
        throw error;
      }
      settleLease(lease, classifyError(), 0, host.clock, host.tally);
      attempts.push({ sessionId: session.id, outcome: 'bad', error: errorLabel(error) });
      lastError = error;
      continue;
    }
    const response = new FetchedResponse(raw, session, attempts.length + 1);
    const outcome = classifyStatus(
      raw.statusCode,
      raw.headers['retry-after'],
      host.blockedStatusCodes,
      options,
    );
    if (outcome.kind === 'good') {
      if (await runChecker(options, response, raw.body)) {
        settleLease(lease, outcome, raw.statusCode, host.clock, host.tally);
        return response;
      }
      settleCheckFailure(lease, options.maxCheckFailures, host.tally);
      attempts.push({ sessionId: session.id, outcome: 'checkFailed', statusCode: raw.statusCode });
      continue;
    }
    settleLease(lease, outcome, raw.statusCode, host.clock, host.tally);
    if (pinned !== undefined && (outcome.kind === 'blocked' || outcome.kind === 'coolDown')) {
      throw new SessionBlockedError(session.id, raw.statusCode, redactUrl(raw.url));
    }
    attempts.push({ sessionId: session.id, outcome: outcome.kind, statusCode: raw.statusCode });
  }
  throw new SessionRotationsExhaustedError(
    redactUrl(url),
    attempts,
    lastError === undefined ? undefined : { cause: lastError },
  );
}
