/**
 * Public shapes of the HTTP layer: what `pool.fetch` takes and returns, header profiles, and the hooks a pool
 * accepts (`sessionChecker`, `initSession`).
 */
import type { Dispatcher } from 'undici';
import type { Session } from '../session.js';

/** Request headers in any shape undici accepts: object, flat `[name, value, …]` array, tuple array, iterable. */
export type RequestHeaders = Dispatcher.DispatchOptions['headers'];

/** Options of one `pool.fetch`. */
export interface SessionFetchInit {
  /** Default `GET`. */
  method?: string;
  headers?: RequestHeaders;
  /** Only strings and buffers can be sent again on another session; a stream body disables rotation. */
  body?: string | Buffer | Uint8Array | Dispatcher.DispatchOptions['body'];
  /** Pin the request to this session (or session id): no rotation; a blocked response throws `SessionBlockedError`. */
  session?: Session | string;
  /** Deadline of each attempt, headers and body included. Default: the pool's `requestTimeoutMs`. */
  timeoutMs?: number;
  /** Retries on other sessions after a block or failure. Default: the pool's `maxSessionRotations`. */
  maxSessionRotations?: number;
  /** Aborts the request (and any wait for a session). */
  signal?: AbortSignal;
}

/** A response read in full (at most `maxBodyBytes`); its outcome has already been applied to `session`. */
export interface SessionResponse {
  /** The final URL, after redirects. */
  url: string;
  statusCode: number;
  /** Lowercase names; repeated headers (e.g. `set-cookie`) as arrays. */
  headers: Record<string, string | string[]>;
  body: Buffer;
  /** The body decoded as UTF-8. */
  text(): string;
  /** The body parsed as JSON. */
  json<T = unknown>(): T;
  /** The session that served the response. */
  session: Session;
  /** Sessions tried, this one included (1 when the first try succeeded). */
  attempts: number;
}

/** What `sessionChecker` sees: the response without its body (the body is the second argument, when read). */
export interface CheckedResponse {
  url: string;
  statusCode: number;
  headers: Record<string, string | string[]>;
  session: Session;
}

/**
 * Declares a response a failure although its status is fine (a captcha page, the wrong location). Return
 * `false` (or throw) for a failure. `body` is given by `pool.fetch`; dispatcher users get `undefined`.
 */
export type SessionChecker = (response: CheckedResponse, body?: Buffer) => boolean | Promise<boolean>;

/** A set of headers a session sends on every request, for its whole life (a simulated browser). */
export interface HeaderProfile {
  /** A name for logs and `session` inspection; default `profile-<index>`. */
  name?: string;
  /** Sent as `user-agent` unless the request sets its own. */
  userAgent?: string;
  /** Other headers; a request's own header of the same name wins. */
  headers?: Record<string, string>;
}

/** Tools `initSession` gets: requests through the session that do not count as uses and apply no outcome. */
export interface InitSessionHelpers {
  /** Like `pool.fetch`, pinned to the session being initialized, with no outcome applied and no rotation. */
  fetch(
    url: string | URL,
    init?: Omit<SessionFetchInit, 'session' | 'maxSessionRotations'>,
  ): Promise<SessionResponse>;
  /** The session's dispatcher without pacing or outcome reporting, for undici `request`/`fetch`. */
  dispatcher: Dispatcher;
  /** True when the session is being renewed (its jar was just cleared), false on its first initialization. */
  renewal: boolean;
}

/**
 * Prepares a `fresh` session before it is handed out: a warm-up GET, a login, choosing a location. Throw or
 * return `false` to declare it failed (the session retires with reason `initFailed`).
 */
export type InitSessionFunction = (
  session: Session,
  helpers: InitSessionHelpers,
  // biome-ignore lint/suspicious/noConfusingVoidType: an async hook that returns nothing is a Promise<void>
) => void | boolean | Promise<void | boolean>;

/** What happens to a session when a blocked status code comes with `Retry-After`. */
export type RetryAfterPolicy = 'retire' | 'coolDown';
