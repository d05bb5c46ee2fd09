/**
 * What connects undici users to the session machines: a handler that holds a request's reserved use and ends it
 * with the response's outcome (classified as `pool.fetch` classifies), and the interceptor `session.dispatcher`
 * puts outermost, which reserves that use first (waiting, bounded, while the session initializes, renews, is
 * paced or has no use free).
 *
 * A 3xx hop that the caller follows itself (undici `fetch` dispatches each hop with `maxRedirections: 0`) gives
 * its use back, so one page is one use; the next hop reserves again on the same session.
 */
import type { Dispatcher } from 'undici';
import type { AcquireOptions } from '../acquisition/acquirer.js';
import type { SessionLease } from '../acquisition/lease.js';
import type { Clock } from '../clock.js';
import { classifyError, classifyStatus } from '../http/classify.js';
import { ForwardingHandler, failHandler, REDIRECT_STATUS_CODES } from '../http/handlers.js';
import { responseHeaders } from '../http/headers.js';
import type { ResolvedHttpOptions } from '../http/options.js';
import type { SessionHttp } from '../http/session-http.js';
import type { PoolTally } from '../pool-stats.js';
import type { Session } from '../session.js';
import { runChecker, settleCheckFailure, settleLease } from './outcome.js';

type Controller = Dispatcher.DispatchController;
type Headers = Parameters<NonNullable<Dispatcher.DispatchHandler['onResponseStart']>>[2];

/** What the interceptors need from the pool's HTTP layer. */
export interface InterceptorHost {
  readonly clock: Clock;
  readonly options: ResolvedHttpOptions;
  readonly blockedStatusCodes: readonly number[];
  readonly tally: PoolTally;
  acquire(options: AcquireOptions): Promise<SessionLease>;
}

function isAbortError(error: unknown): boolean {
  const { name, code } = (error ?? {}) as { name?: string; code?: string };
  return name === 'AbortError' || code === 'UND_ERR_ABORTED';
}

/** The request's own `AbortSignal`, if it has one (undici also accepts an EventEmitter there). */
export function abortSignalOf(opts: Dispatcher.DispatchOptions): AbortSignal | undefined {
  const signal = (opts as { signal?: unknown }).signal;
  return signal instanceof AbortSignal ? signal : undefined;
}

/** Holds one reserved use for a dispatched request and releases it exactly once, with the outcome. */
export class LeaseHandler extends ForwardingHandler {
  readonly #host: InterceptorHost;
  readonly #lease: SessionLease;
  readonly #url: string;
  readonly #callerFollowsRedirects: boolean;
  #forgetLoss: () => void = () => {};
  #statusCode = 0;
  #headers: Headers | undefined;

  constructor(
    inner: Dispatcher.DispatchHandler,
    host: InterceptorHost,
    lease: SessionLease,
    opts: Dispatcher.DispatchOptions,
  ) {
    super(inner);
    this.#host = host;
    this.#lease = lease;
    this.#url = `${String(opts.origin ?? '')}${opts.path}`;
    this.#callerFollowsRedirects = (opts as { maxRedirections?: number }).maxRedirections === 0;
  }

  /** A use that can be lost under its holder (a fleet lease) stops the request when it is. */
  override onRequestStart(controller: Controller, context: unknown): void {
    if (this.#lease.losable) this.#forgetLoss = this.#lease.onLost((reason) => controller.abort(reason));
    super.onRequestStart(controller, context);
  }

  override onResponseStart(
    controller: Controller,
    statusCode: number,
    headers: Headers,
    message?: string,
  ): void {
    this.#statusCode = statusCode;
    this.#headers = headers;
    super.onResponseStart(controller, statusCode, headers, message);
  }

  override onResponseEnd(controller: Controller, trailers: Headers): void {
    this.#forgetLoss();
    this.#report();
    super.onResponseEnd(controller, trailers);
  }

  override onResponseError(controller: Controller, error: Error): void {
    this.#forgetLoss();
    // A request the caller aborted counts as a use (it may have gone out) but says nothing about the session.
    if (isAbortError(error) || this.#lease.aborted) this.#lease.release('aborted');
    else settleLease(this.#lease, classifyError(), 0, this.#host.clock, this.#host.tally);
    super.onResponseError(controller, error);
  }

  #report(): void {
    const statusCode = this.#statusCode;
    const headers = this.#headers ?? {};
    const lease = this.#lease;
    if (
      this.#callerFollowsRedirects &&
      REDIRECT_STATUS_CODES.has(statusCode) &&
      headers.location !== undefined
    ) {
      lease.release('unused');
      return;
    }
    const host = this.#host;
    const outcome = classifyStatus(statusCode, headers['retry-after'], host.blockedStatusCodes, host.options);
    if (outcome.kind !== 'good' || !host.options.sessionChecker) {
      settleLease(lease, outcome, statusCode, host.clock, host.tally);
      return;
    }
    const checked = { url: this.#url, statusCode, headers: responseHeaders(headers), session: lease.session };
    void runChecker(host.options, checked, undefined).then((passed) => {
      if (passed) settleLease(lease, outcome, statusCode, host.clock, host.tally);
      else settleCheckFailure(lease, host.options.maxCheckFailures, host.tally);
    });
  }
}

/** Dispatches on `dispatch` holding `lease`; a throw from `dispatch` fails the request and releases the use. */
export function dispatchHolding(
  dispatch: Dispatcher.Dispatch,
  opts: Dispatcher.DispatchOptions,
  handler: Dispatcher.DispatchHandler,
  host: InterceptorHost,
  lease: SessionLease,
): boolean {
  const holding = new LeaseHandler(handler, host, lease, opts);
  try {
    return dispatch(opts, holding);
  } catch (error) {
    holding.onResponseError(undefined as never, error as Error);
    return true;
  }
}

/** The outermost interceptor of `session.dispatcher`: reserve a use of this session, then dispatch holding it. */
export function createLeaseInterceptor(
  host: InterceptorHost,
  session: Session,
): (http: SessionHttp) => Dispatcher.DispatcherComposeInterceptor {
  return () => (dispatch) =>
    function dispatchReserving(opts, handler) {
      host.acquire({ session, signal: abortSignalOf(opts) }).then(
        (lease) => dispatchHolding(dispatch, opts, handler, host, lease),
        (error: Error) => failHandler(handler, error),
      );
      return true;
    };
}
