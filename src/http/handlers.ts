/**
 * Small pieces for undici v7 dispatch handlers. Handlers are wrapped by delegation (a class forwarding each
 * method), never by spreading: a spread drops the methods a handler has on its prototype.
 */
import type { Dispatcher } from 'undici';

type Controller = Dispatcher.DispatchController;

/** The status codes that redirect (a `Location` to follow). */
export const REDIRECT_STATUS_CODES: ReadonlySet<number> = new Set([300, 301, 302, 303, 307, 308]);

/** Whether a request body can be sent again (on a redirect hop or another session): not a stream. */
export function isReplayableBody(body: unknown): boolean {
  return body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array;
}
type Headers = Parameters<NonNullable<Dispatcher.DispatchHandler['onResponseStart']>>[2];

/** Forwards every v7 handler method to `inner`; subclasses override what they observe. */
export class ForwardingHandler implements Dispatcher.DispatchHandler {
  protected readonly inner: Dispatcher.DispatchHandler;

  constructor(inner: Dispatcher.DispatchHandler) {
    this.inner = inner;
  }

  onRequestStart(controller: Controller, context: unknown): void {
    this.inner.onRequestStart?.(controller, context);
  }

  onRequestUpgrade(controller: Controller, statusCode: number, headers: Headers, socket: never): void {
    this.inner.onRequestUpgrade?.(controller, statusCode, headers, socket);
  }

  onResponseStart(
    controller: Controller,
    statusCode: number,
    headers: Headers,
    statusMessage?: string,
  ): void {
    this.inner.onResponseStart?.(controller, statusCode, headers, statusMessage);
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    this.inner.onResponseData?.(controller, chunk);
  }

  onResponseEnd(controller: Controller, trailers: Headers): void {
    this.inner.onResponseEnd?.(controller, trailers);
  }

  onResponseError(controller: Controller, error: Error): void {
    this.inner.onResponseError?.(controller, error);
  }
}

/** A controller for a request that never started (failed while waiting for a session). */
function deadController(reason: Error): Controller {
  return {
    aborted: true,
    paused: false,
    reason,
    abort() {},
    pause() {},
    resume() {},
  };
}

/** Fails a request that was never dispatched, whichever handler API (v7 or legacy) it speaks. */
export function failHandler(handler: Dispatcher.DispatchHandler, error: Error): void {
  const legacy = handler as { onError?(error: Error): void };
  if (typeof handler.onResponseError === 'function') handler.onResponseError(deadController(error), error);
  else if (typeof legacy.onError === 'function') legacy.onError(error);
}

/** The absolute URL a dispatch targets. */
export function dispatchUrl(opts: Dispatcher.DispatchOptions): string {
  const origin = typeof opts.origin === 'string' ? opts.origin : (opts.origin?.toString() ?? '');
  return `${origin.endsWith('/') ? origin.slice(0, -1) : origin}${opts.path}`;
}
