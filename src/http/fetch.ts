/**
 * `pool.fetch`: one request, read in full, with its outcome applied to the session that served it, retried on
 * other sessions after a block or failure (up to `maxSessionRotations`), and a typed error naming every
 * attempt when it gives up. A request pinned to a session never rotates.
 */
import type { Clock } from '../clock.js';
import {
  type FetchAttemptSummary,
  InvalidOptionError,
  ResponseTooLargeError,
  SessionBlockedError,
  SessionRotationsExhaustedError,
} from '../errors.js';
import type { Session } from '../session.js';
import { classifyError, classifyStatus } from './classify.js';
import { collect, type RawResponse } from './collect.js';
import { intOption, type ResolvedHttpOptions } from './options.js';
import { applyCheckFailure, applyOutcome, runChecker } from './outcome.js';
import { redactUrl } from './proxy.js';
import type { SessionHttp } from './session-http.js';
import type { SessionFetchInit, SessionResponse } from './types.js';

/** What `sessionFetch` needs from the pool's HTTP layer. */
export interface FetchHost {
  readonly clock: Clock;
  readonly options: ResolvedHttpOptions;
  readonly blockedStatusCodes: readonly number[];
  acquire(request: {
    exclude: ReadonlySet<string>;
    takeSlot: true;
    signal: AbortSignal | undefined;
  }): Promise<SessionHttp>;
  enter(http: SessionHttp, signal?: AbortSignal): Promise<void>;
  resolveSession(session: Session | string): Promise<Session>;
  stateOf(session: Session): SessionHttp;
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

function isReplayable(body: unknown): boolean {
  return body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array;
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
 * pinned to that session, no pacing slot, no outcome, no rotation.
 */
export async function sessionFetch(
  host: FetchHost,
  input: string | URL,
  init: SessionFetchInit = {},
  initOf?: SessionHttp,
): Promise<SessionResponse> {
  const url = targetUrl(input);
  const { options } = host;
  const method = init.method ?? 'GET';
  if (typeof method !== 'string' || !/^[A-Za-z]+$/.test(method)) {
    throw new InvalidOptionError('method', `expected an HTTP method name, got ${String(method)}`);
  }
  const timeoutMs = intOption('timeoutMs', init.timeoutMs, options.requestTimeoutMs, 1);
  const signal = init.signal;
  const pinned =
    initOf ??
    (init.session === undefined ? undefined : host.stateOf(await host.resolveSession(init.session)));
  const rotations =
    pinned || !isReplayable(init.body)
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

  const attempts: FetchAttemptSummary[] = [];
  const tried = new Set<string>();
  let lastError: unknown;
  for (let attempt = 0; attempt <= rotations; attempt += 1) {
    let http: SessionHttp;
    if (initOf) {
      http = initOf;
    } else if (pinned) {
      await host.enter(pinned, signal);
      http = pinned;
    } else {
      http = await host.acquire({ exclude: tried, takeSlot: true, signal });
    }
    const session = http.session;
    tried.add(session.id);
    let raw: RawResponse;
    try {
      raw = await collect(http.core, url, collectOptions);
    } catch (error) {
      if (!initOf) http.pacer.finish();
      // Neither the caller's abort nor an oversized page says anything about the session.
      if (initOf || isAbort(error, signal) || error instanceof ResponseTooLargeError) throw error;
      applyOutcome(http, classifyError(), 0, host.clock);
      attempts.push({ sessionId: session.id, outcome: 'bad', error: errorLabel(error) });
      lastError = error;
      continue;
    }
    if (!initOf) http.pacer.finish();
    const response = new FetchedResponse(raw, session, attempts.length + 1);
    if (initOf) return response;

    const outcome = classifyStatus(
      raw.statusCode,
      raw.headers['retry-after'],
      host.blockedStatusCodes,
      options,
    );
    if (outcome.kind === 'good') {
      if (await runChecker(options, response, raw.body)) {
        applyOutcome(http, outcome, raw.statusCode, host.clock);
        return response;
      }
      applyCheckFailure(http, options.maxCheckFailures);
      attempts.push({ sessionId: session.id, outcome: 'checkFailed', statusCode: raw.statusCode });
      continue;
    }
    applyOutcome(http, outcome, raw.statusCode, host.clock);
    if (pinned && (outcome.kind === 'blocked' || outcome.kind === 'coolDown')) {
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
