/**
 * Session initialization and renewal. `initSession` runs while a session is `fresh`, once, however many
 * requests wait for it (they share one promise). A failed init retires the session (`initFailed`); after
 * `maxBadInits` failures in a row the layer records a `TooManyBadInitsError` that every waiting and later caller
 * gets. Renewal drains the session's in-flight requests, clears its jar and runs `initSession` again while new
 * requests for it wait.
 */
import type { Clock } from '../clock.js';
import { NoUsableSessionError, SessionInitError, TooManyBadInitsError } from '../errors.js';
import type { ResolvedHttpOptions } from './options.js';
import type { ChangeSignal } from './pacer.js';
import type { SessionHttp } from './session-http.js';
import type { InitSessionHelpers } from './types.js';

export interface InitializerHost {
  readonly clock: Clock;
  readonly options: ResolvedHttpOptions;
  readonly signal: ChangeSignal;
  /** Init helpers bound to one session (raw requests that apply no outcome). */
  helpersFor(http: SessionHttp, renewal: boolean): InitSessionHelpers;
  scrub(message: string): string;
}

export class Initializer {
  readonly #host: InitializerHost;
  #badInitsInARow = 0;
  #failure: TooManyBadInitsError | undefined;

  constructor(host: InitializerHost) {
    this.#host = host;
  }

  /** Set once `maxBadInits` inits failed in a row: the pool hands out no more sessions. */
  get failure(): TooManyBadInitsError | undefined {
    return this.#failure;
  }

  throwIfFailed(): void {
    if (this.#failure) throw this.#failure;
  }

  /** Resolves true once the session is initialized, false if its init failed (it has retired). */
  ensure(http: SessionHttp): Promise<boolean> | true {
    if (http.initialized) return true;
    if (!this.#host.options.initSession || http.session.state !== 'fresh') {
      // Without a hook, or for a session restored already in use, there is nothing to run.
      http.initialized = true;
      return true;
    }
    http.initializing ??= this.#run(http, false)
      .then((error) => error === undefined)
      .finally(() => {
        http.initializing = undefined;
      });
    return http.initializing;
  }

  /** Clears the session's jar and re-runs init; requests for it wait meanwhile. Shared by concurrent callers. */
  renew(http: SessionHttp): Promise<void> {
    http.renewing ??= this.#renew(http).finally(() => {
      http.renewing = undefined;
      this.#host.signal.notify();
    });
    return http.renewing;
  }

  async #renew(http: SessionHttp): Promise<void> {
    const { clock, options, signal } = this.#host;
    const deadline = clock.now() + options.sessionWaitTimeoutMs;
    while (http.pacer.inFlight > 0) {
      await signal.wait(
        clock,
        deadline,
        () =>
          new NoUsableSessionError(
            `session "${http.session.id}" did not drain its requests for renewal in time`,
          ),
      );
    }
    http.initialized = false;
    http.checkFailures = 0;
    http.session.cookieJar.removeAllCookiesSync();
    if (options.initSession) {
      const error = await this.#run(http, true);
      if (error) throw error;
    }
    http.initialized = true;
  }

  /** Runs `initSession`; returns the error when it failed (the session then retires). */
  async #run(http: SessionHttp, renewal: boolean): Promise<SessionInitError | undefined> {
    const { options } = this.#host;
    const session = http.session;
    let problem: unknown;
    try {
      const result = await options.initSession?.(session, this.#host.helpersFor(http, renewal));
      if (result === false) problem = new Error('initSession returned false');
      else if (session.state === 'retired') problem = new Error('the session retired during initSession');
    } catch (error) {
      problem = error;
    }
    if (problem === undefined) {
      http.initialized = true;
      this.#badInitsInARow = 0;
      return undefined;
    }
    const detail = this.#host.scrub(problem instanceof Error ? problem.message : String(problem));
    const error = new SessionInitError(session.id, detail, { cause: problem });
    http.initError = error;
    session.send({ type: 'session.retire', reason: 'initFailed' });
    this.#badInitsInARow += 1;
    if (this.#badInitsInARow >= options.maxBadInits && !this.#failure) {
      this.#failure = new TooManyBadInitsError(options.maxBadInits, { cause: error });
    }
    this.#host.signal.notify();
    return error;
  }
}
