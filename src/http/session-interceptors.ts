/**
 * The two interceptors that connect undici users to the session machines:
 * - the gate (outermost on `session.dispatcher`): waits while the session renews or initializes, and holds a
 *   pacing slot for the request's whole life;
 * - the outcome reporter: classifies each response (or error) and marks the session, as `pool.fetch` does.
 *   A 3xx hop that the caller will follow itself (undici `fetch` dispatches each hop with `maxRedirections: 0`)
 *   is not counted, so one page is one use.
 */
import type { Dispatcher } from 'undici';
import type { Clock } from '../clock.js';
import { classifyError, classifyStatus } from './classify.js';
import { ForwardingHandler, failHandler } from './handlers.js';
import { responseHeaders } from './headers.js';
import type { ResolvedHttpOptions } from './options.js';
import { applyCheckFailure, applyOutcome, runChecker } from './outcome.js';
import type { SessionHttp } from './session-http.js';

type Controller = Dispatcher.DispatchController;
type Headers = Parameters<NonNullable<Dispatcher.DispatchHandler['onResponseStart']>>[2];

const REDIRECT_CODES = new Set([300, 301, 302, 303, 307, 308]);

/** What the interceptors need from the pool's HTTP layer. */
export interface InterceptorHost {
  readonly clock: Clock;
  readonly options: ResolvedHttpOptions;
  readonly blockedStatusCodes: readonly number[];
  /** Takes a pacing slot now if the session is ready. */
  tryEnter(http: SessionHttp): boolean;
  /** Waits (bounded) until the session is ready, then takes a pacing slot. */
  enter(http: SessionHttp): Promise<void>;
}

/** Gives the pacing slot back exactly once, when the response ends or fails. */
export class SlotHandler extends ForwardingHandler {
  readonly #http: SessionHttp;
  #released = false;

  constructor(inner: Dispatcher.DispatchHandler, http: SessionHttp) {
    super(inner);
    this.#http = http;
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#http.pacer.finish();
  }

  override onResponseEnd(controller: Controller, trailers: Headers): void {
    this.release();
    super.onResponseEnd(controller, trailers);
  }

  override onResponseError(controller: Controller, error: Error): void {
    this.release();
    super.onResponseError(controller, error);
  }
}

export function createGateInterceptor(
  host: InterceptorHost,
  http: SessionHttp,
): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) =>
    function dispatchThroughGate(opts, handler) {
      if (host.tryEnter(http)) return dispatchHolding(dispatch, opts, handler, http);
      host.enter(http).then(
        () => dispatchHolding(dispatch, opts, handler, http),
        (error: Error) => failHandler(handler, error),
      );
      return true;
    };
}

function dispatchHolding(
  dispatch: Dispatcher.Dispatch,
  opts: Dispatcher.DispatchOptions,
  handler: Dispatcher.DispatchHandler,
  http: SessionHttp,
): boolean {
  const slot = new SlotHandler(handler, http);
  try {
    return dispatch(opts, slot);
  } catch (error) {
    slot.onResponseError(undefined as never, error as Error);
    return true;
  }
}

class ReportingHandler extends ForwardingHandler {
  readonly #host: InterceptorHost;
  readonly #http: SessionHttp;
  readonly #url: string;
  readonly #callerFollowsRedirects: boolean;
  #statusCode = 0;
  #headers: Headers | undefined;

  constructor(
    inner: Dispatcher.DispatchHandler,
    host: InterceptorHost,
    http: SessionHttp,
    opts: Dispatcher.DispatchOptions,
  ) {
    super(inner);
    this.#host = host;
    this.#http = http;
    this.#url = `${String(opts.origin ?? '')}${opts.path}`;
    this.#callerFollowsRedirects = (opts as { maxRedirections?: number }).maxRedirections === 0;
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
    super.onResponseEnd(controller, trailers);
    this.#report();
  }

  override onResponseError(controller: Controller, error: Error): void {
    super.onResponseError(controller, error);
    // A request the caller aborted says nothing about the session.
    if (
      (error as { name?: string }).name === 'AbortError' ||
      (error as { code?: string }).code === 'UND_ERR_ABORTED'
    ) {
      return;
    }
    applyOutcome(this.#http, classifyError(), 0, this.#host.clock);
  }

  #report(): void {
    const statusCode = this.#statusCode;
    const headers = this.#headers ?? {};
    if (this.#callerFollowsRedirects && REDIRECT_CODES.has(statusCode) && headers.location !== undefined)
      return;
    const host = this.#host;
    const outcome = classifyStatus(statusCode, headers['retry-after'], host.blockedStatusCodes, host.options);
    if (outcome.kind !== 'good' || !host.options.sessionChecker) {
      applyOutcome(this.#http, outcome, statusCode, host.clock);
      return;
    }
    const checked = {
      url: this.#url,
      statusCode,
      headers: responseHeaders(headers),
      session: this.#http.session,
    };
    void runChecker(host.options, checked, undefined).then((passed) => {
      if (passed) applyOutcome(this.#http, outcome, statusCode, host.clock);
      else applyCheckFailure(this.#http, host.options.maxCheckFailures);
    });
  }
}

export function createReporterInterceptor(
  host: InterceptorHost,
  http: SessionHttp,
): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) =>
    function dispatchReporting(opts, handler) {
      return dispatch(opts, new ReportingHandler(handler, host, http, opts));
    };
}
