/**
 * `pool.dispatcher`: an undici Dispatcher for `request`/`fetch`/`stream` that picks a session per request
 * (initialized, paced, skipping sessions that cool down) and reports each outcome to it. No rotation: a
 * dispatcher cannot replay a request whose body it has handed on. undici `fetch` follows redirects itself, one
 * dispatch per hop; so that a hop keeps the session (and the cookies) of the one before, the `Location` of a
 * redirect is remembered and the next request for it goes to the same session.
 */
import { Dispatcher } from 'undici';
import { dispatchUrl, failHandler } from './handlers.js';
import type { PoolHttp } from './pool-http.js';
import type { SessionHttp } from './session-http.js';
import { SlotHandler } from './session-interceptors.js';

type Controller = Dispatcher.DispatchController;
type Headers = Parameters<NonNullable<Dispatcher.DispatchHandler['onResponseStart']>>[2];

const REDIRECT_CODES = new Set([300, 301, 302, 303, 307, 308]);
/** Remembered redirect targets; old entries go first. */
const MAX_AFFINITIES = 1024;

class AffinityHandler extends SlotHandler {
  readonly #url: string;
  readonly #sessionId: string;
  readonly #affinities: Map<string, string>;

  constructor(
    inner: Dispatcher.DispatchHandler,
    http: SessionHttp,
    url: string,
    affinities: Map<string, string>,
  ) {
    super(inner, http);
    this.#url = url;
    this.#sessionId = http.session.id;
    this.#affinities = affinities;
  }

  override onResponseStart(
    controller: Controller,
    statusCode: number,
    headers: Headers,
    message?: string,
  ): void {
    const location = headers.location;
    if (REDIRECT_CODES.has(statusCode) && typeof location === 'string') {
      try {
        const target = new URL(location, this.#url).href;
        if (this.#affinities.size >= MAX_AFFINITIES) {
          this.#affinities.delete(this.#affinities.keys().next().value as string);
        }
        this.#affinities.set(target, this.#sessionId);
      } catch {
        // An unusable Location is the caller's problem to report; no affinity.
      }
    }
    super.onResponseStart(controller, statusCode, headers, message);
  }
}

/** A dispatcher that only routes: it owns no connections (sessions do). */
class RoutingDispatcher extends Dispatcher {
  override dispatch(): boolean {
    throw new Error('RoutingDispatcher is used through compose()');
  }
  override close(...args: unknown[]): Promise<void> {
    return settleNow(args);
  }
  override destroy(...args: unknown[]): Promise<void> {
    return settleNow(args);
  }
}

/** Closing the router closes nothing (the pool owns the agents); honours the callback form. */
function settleNow(args: unknown[]): Promise<void> {
  const callback = args.find((arg) => typeof arg === 'function') as (() => void) | undefined;
  if (callback) queueMicrotask(callback);
  return Promise.resolve();
}

export function createPoolDispatcher(layer: PoolHttp): Dispatcher {
  const affinities = new Map<string, string>();

  async function sessionFor(url: string): Promise<SessionHttp> {
    const pinnedId = affinities.get(url);
    if (pinnedId !== undefined) {
      affinities.delete(url);
      const pinned = await layer.resolveSession(pinnedId).catch(() => undefined);
      if (pinned?.isUsable()) {
        const http = layer.stateOf(pinned);
        await layer.enter(http);
        return http;
      }
    }
    return layer.acquire({ takeSlot: true });
  }

  // compose() hands the router a v7 handler whatever API the caller speaks.
  return new RoutingDispatcher().compose(
    () =>
      function routeToSession(opts, handler) {
        const url = dispatchUrl(opts);
        sessionFor(url).then(
          (http) => {
            const slotted = new AffinityHandler(handler, http, url, affinities);
            try {
              http.reporting.dispatch(opts, slotted);
            } catch (error) {
              slotted.onResponseError(undefined as never, error as Error);
            }
          },
          (error: Error) => failHandler(handler, error),
        );
        return true;
      },
  );
}
