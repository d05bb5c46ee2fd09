/**
 * Follows redirects for one request, up to `maxRedirections` hops, like undici's redirect interceptor but
 * without its refusal to revisit a URL: a cookie check that answers `302` + `Set-Cookie` with `Location` set to
 * the very URL requested must be followed (browsers, got-scraping and undici's own `fetch` do), and the hop limit
 * still bounds a real loop. Per RFC 9110: 301/302 turn a POST into a GET, 303 turns anything but HEAD into a GET
 * (dropping `content-*` headers); a hop to another origin drops `authorization`, `cookie` and
 * `proxy-authorization`. A body that cannot be sent twice (a stream) is not followed: the 3xx goes to the caller.
 *
 * The `history` of visited URLs reaches the inner handler's `onRequestStart` context, as undici's does.
 */
import type { Dispatcher } from 'undici';
import { ForwardingHandler, isReplayableBody, REDIRECT_STATUS_CODES } from './handlers.js';

type Controller = Dispatcher.DispatchController;
type Headers = Parameters<NonNullable<Dispatcher.DispatchHandler['onResponseStart']>>[2];
type Options = Dispatcher.DispatchOptions & { maxRedirections?: number };

const CREDENTIAL_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);

/** Request headers as `[name, value]` pairs, whatever shape undici was given. */
function headerPairs(headers: Dispatcher.DispatchOptions['headers']): [string, unknown][] {
  if (headers == null) return [];
  if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) {
      return (headers as unknown as [string, unknown][]).map(([k, v]) => [k, v]);
    }
    const pairs: [string, unknown][] = [];
    for (let i = 0; i + 1 < headers.length; i += 2) pairs.push([String(headers[i]), headers[i + 1]]);
    return pairs;
  }
  if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
    return [...(headers as Iterable<[string, unknown]>)].map(([k, v]) => [String(k), v]);
  }
  return Object.entries(headers as Record<string, unknown>);
}

function headersForHop(
  headers: Dispatcher.DispatchOptions['headers'],
  dropContent: boolean,
  crossOrigin: boolean,
): string[] {
  const kept: string[] = [];
  for (const [name, value] of headerPairs(headers)) {
    const lower = name.toLowerCase();
    if (lower === 'host') continue;
    if (dropContent && lower.startsWith('content-')) continue;
    if (crossOrigin && CREDENTIAL_HEADERS.has(lower)) continue;
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) for (const item of value) kept.push(name, String(item));
    else kept.push(name, String(value));
  }
  return kept;
}

class FollowingHandler extends ForwardingHandler {
  readonly #dispatch: Dispatcher.Dispatch;
  readonly #maxRedirections: number;
  readonly #opts: Options;
  readonly #history: URL[] = [];
  #location: string | undefined;

  constructor(
    dispatch: Dispatcher.Dispatch,
    maxRedirections: number,
    opts: Options,
    inner: Dispatcher.DispatchHandler,
  ) {
    super(inner);
    this.#dispatch = dispatch;
    this.#maxRedirections = maxRedirections;
    this.#opts = opts;
  }

  override onRequestStart(controller: Controller, context: unknown): void {
    super.onRequestStart(controller, { ...(context as object), history: this.#history });
  }

  override onResponseStart(
    controller: Controller,
    statusCode: number,
    headers: Headers,
    statusMessage?: string,
  ): void {
    const opts = this.#opts;
    const current = new URL(opts.path, String(opts.origin));
    const location = headers.location;
    const follow =
      REDIRECT_STATUS_CODES.has(statusCode) &&
      typeof location === 'string' &&
      this.#history.length < this.#maxRedirections &&
      isReplayableBody(opts.body);
    this.#history.push(current);
    if (!follow) {
      this.#location = undefined;
      super.onResponseStart(controller, statusCode, headers, statusMessage);
      return;
    }
    const target = new URL(location as string, current);
    const method = String(opts.method).toUpperCase();
    const toGet =
      (statusCode === 303 && method !== 'HEAD') ||
      ((statusCode === 301 || statusCode === 302) && method === 'POST');
    if (toGet) {
      opts.method = 'GET';
      opts.body = null;
    }
    opts.headers = headersForHop(opts.headers, statusCode === 303, target.origin !== current.origin);
    opts.origin = target.origin;
    opts.path = `${target.pathname}${target.search}`;
    this.#location = target.href;
  }

  override onResponseData(controller: Controller, chunk: Buffer): void {
    // A redirect's body is dropped: only its Location is used.
    if (this.#location === undefined) super.onResponseData(controller, chunk);
  }

  override onResponseEnd(controller: Controller, trailers: Headers): void {
    if (this.#location === undefined) {
      super.onResponseEnd(controller, trailers);
      return;
    }
    try {
      this.#dispatch(this.#opts, this);
    } catch (error) {
      super.onResponseError(controller, error as Error);
    }
  }
}

/** Follows up to `maxRedirections` redirects (a request's own `maxRedirections` wins; 0 follows none). */
export function createRedirectInterceptor(defaults: {
  maxRedirections: number;
}): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) =>
    function dispatchFollowingRedirects(opts, handler) {
      const { maxRedirections = defaults.maxRedirections, ...rest } = opts as Options;
      if (!maxRedirections) return dispatch(rest, handler);
      return dispatch(rest, new FollowingHandler(dispatch, maxRedirections, { ...rest }, handler));
    };
}
