/**
 * `pool.dispatcher`: an undici Dispatcher for `request`/`fetch`/`stream` that reserves a use of a session per
 * request (through the pool's acquisition, like every other way in) and reports each outcome to it. No rotation:
 * a dispatcher cannot replay a request whose body it has handed on. undici `fetch` follows redirects itself, one
 * dispatch per hop; so that a hop keeps the session (and the cookies) of the one before, the `Location` of a
 * redirect is remembered and the next request for it goes to the same session, even when it is the same URL (a
 * cookie check).
 */
import { Dispatcher } from 'undici';
import type { SessionLease } from '../acquisition/lease.js';
import { dispatchUrl, ForwardingHandler, failHandler, REDIRECT_STATUS_CODES } from '../http/handlers.js';
import type { SessionHttp } from '../http/session-http.js';
import type { Session } from '../session.js';
import { abortSignalOf, dispatchHolding, type InterceptorHost } from './interceptors.js';

type Controller = Dispatcher.DispatchController;
type Headers = Parameters<NonNullable<Dispatcher.DispatchHandler['onResponseStart']>>[2];

/** Remembered redirect targets; old entries go first. */
const MAX_AFFINITIES = 1024;

/** What the router needs: acquisition, and each session's transport. */
export interface PoolDispatcherHost extends InterceptorHost {
  transportOf(session: Session): SessionHttp;
}

class AffinityHandler extends ForwardingHandler {
  readonly #url: string;
  readonly #sessionId: string;
  readonly #affinities: Map<string, string>;

  constructor(
    inner: Dispatcher.DispatchHandler,
    sessionId: string,
    url: string,
    affinities: Map<string, string>,
  ) {
    super(inner);
    this.#url = url;
    this.#sessionId = sessionId;
    this.#affinities = affinities;
  }

  override onResponseStart(
    controller: Controller,
    statusCode: number,
    headers: Headers,
    message?: string,
  ): void {
    const location = headers.location;
    if (REDIRECT_STATUS_CODES.has(statusCode) && typeof location === 'string') {
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
export class RoutingDispatcher extends Dispatcher {
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

export function createPoolDispatcher(host: PoolDispatcherHost): Dispatcher {
  const affinities = new Map<string, string>();

  async function leaseFor(url: string, signal: AbortSignal | undefined): Promise<SessionLease> {
    const pinnedId = affinities.get(url);
    if (pinnedId !== undefined) {
      affinities.delete(url);
      const pinned = await host.acquire({ session: pinnedId, signal }).catch((error: unknown) => {
        if (signal?.aborted) throw error;
        return undefined;
      });
      if (pinned) return pinned;
    }
    return host.acquire({ signal });
  }

  // compose() hands the router a v7 handler whatever API the caller speaks.
  return new RoutingDispatcher().compose(
    () =>
      function routeToSession(opts, handler) {
        const url = dispatchUrl(opts);
        leaseFor(url, abortSignalOf(opts)).then(
          (lease) => {
            const routed = new AffinityHandler(handler, lease.session.id, url, affinities);
            const core = host.transportOf(lease.session).core;
            dispatchHolding((o, h) => core.dispatch(o, h), opts, routed, host, lease);
          },
          (error: Error) => failHandler(handler, error),
        );
        return true;
      },
  );
}
