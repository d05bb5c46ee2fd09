/**
 * Session initialization and renewal. The readiness itself is the session machine's (`readiness` in its context:
 * `pending` → `initializing` → `ready`, and `renewing` while a renewal runs); this module runs `initSession` and
 * reports to the machine. One run per session at a time, however many requests wait for it: they share the run's
 * promise. A failed init retires the session (`initFailed`); after `maxBadInits` failures in a row every waiting
 * and later caller gets a `TooManyBadInitsError`. Renewal waits until the session's reserved uses are released,
 * clears its jar and runs `initSession` again while new requests for it wait.
 */
import type { Clock } from '../clock.js';
import { NoUsableSessionError, SessionInitError, TooManyBadInitsError } from '../errors.js';
import type { InitSessionFunction, InitSessionHelpers } from '../http/types.js';
import type { PoolTally } from '../pool-stats.js';
import type { Session } from '../session.js';
import type { ChangeSignal } from './change-signal.js';

export interface InitializerHost {
  readonly clock: Clock;
  readonly initSession: InitSessionFunction | undefined;
  readonly maxBadInits: number;
  readonly sessionWaitTimeoutMs: number;
  readonly signal: ChangeSignal;
  readonly tally: PoolTally;
  /** Init helpers bound to one session (raw requests that apply no outcome). */
  helpersFor(session: Session, renewal: boolean): InitSessionHelpers;
  scrub(message: string): string;
}

export class Initializer {
  readonly #host: InitializerHost;
  /** The init or renewal running for each session (a job, not state: the machine holds the readiness). */
  readonly #running = new Map<string, Promise<SessionInitError | undefined>>();
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

  /** Whether an init or renewal is running for the session. */
  isRunning(session: Session): boolean {
    return this.#running.has(session.id);
  }

  /**
   * `true` when the session is ready now; otherwise a promise that settles once its init (started here if it is
   * pending) or renewal has run: true if it is ready then, false if it retired.
   */
  ensure(session: Session): Promise<boolean> | true {
    const readiness = session.readiness;
    if (readiness === 'ready') return true;
    const running = this.#running.get(session.id) ?? this.#start(session);
    if (running === undefined) return session.readiness === 'ready' || Promise.resolve(false);
    return running.then((error) => error === undefined);
  }

  /** Starts the first init of a pending session; without `initSession` it is ready at once. */
  #start(session: Session): Promise<SessionInitError | undefined> | undefined {
    if (session.readiness !== 'pending' || session.state === 'retired') return undefined;
    if (!this.#host.initSession) {
      session.send({ type: 'session.initDone' });
      return undefined;
    }
    return this.#track(session, this.#initialize(session, false));
  }

  /** Clears the session's jar and re-runs `initSession`; requests for it wait meanwhile. Shared by concurrent callers. */
  async renew(session: Session): Promise<void> {
    let job = this.#running.get(session.id);
    if (job && session.readiness !== 'renewing') {
      // A first init is running: renew after it.
      const error = await job;
      if (error) throw error;
      job = this.#running.get(session.id);
    }
    if (!job) {
      session.send({ type: 'session.renewStart' });
      job = this.#track(session, this.#renew(session));
    }
    const error = await job;
    if (error) throw error;
  }

  #track(
    session: Session,
    job: Promise<SessionInitError | undefined>,
  ): Promise<SessionInitError | undefined> {
    const tracked = job.finally(() => {
      this.#running.delete(session.id);
      this.#host.signal.notify();
    });
    this.#running.set(session.id, tracked);
    return tracked;
  }

  async #renew(session: Session): Promise<SessionInitError | undefined> {
    const { clock, signal, sessionWaitTimeoutMs } = this.#host;
    const deadline = clock.now() + sessionWaitTimeoutMs;
    try {
      while (session.reservedUses > 0 && session.state !== 'retired') {
        await signal.wait(
          clock,
          deadline,
          () =>
            new NoUsableSessionError(
              `session "${session.id}" did not drain its requests for renewal in time`,
            ),
        );
      }
    } catch (error) {
      return this.#fail(session, error);
    }
    session.cookieJar.removeAllCookiesSync();
    return this.#initialize(session, true);
  }

  /** Runs `initSession` (none configured: nothing to run); the error when it failed (the session then retires). */
  async #initialize(session: Session, renewal: boolean): Promise<SessionInitError | undefined> {
    const { initSession } = this.#host;
    if (!renewal) session.send({ type: 'session.initStart' });
    let problem: unknown;
    try {
      const result = await initSession?.(session, this.#host.helpersFor(session, renewal));
      if (result === false) problem = new Error('initSession returned false');
      else if (session.state === 'retired') problem = new Error('the session retired during initSession');
    } catch (error) {
      problem = error;
    }
    if (problem === undefined) {
      session.send({ type: 'session.initDone' });
      this.#host.tally.count('init/check-passed');
      this.#badInitsInARow = 0;
      return undefined;
    }
    return this.#fail(session, problem);
  }

  #fail(session: Session, problem: unknown): SessionInitError {
    const detail = this.#host.scrub(problem instanceof Error ? problem.message : String(problem));
    const error = new SessionInitError(session.id, detail, { cause: problem });
    session.send({ type: 'session.initFail', error: detail });
    this.#host.tally.count('init/failed');
    this.#badInitsInARow += 1;
    if (this.#badInitsInARow >= this.#host.maxBadInits && !this.#failure) {
      this.#failure = new TooManyBadInitsError(this.#host.maxBadInits, { cause: error });
    }
    return error;
  }

  /** The error a request for a retired session gets: its init failure (as its machine recorded it), if that is why. */
  errorFor(session: Session): SessionInitError | undefined {
    if (session.retirementReason !== 'initFailed') return undefined;
    return new SessionInitError(session.id, session.initError ?? 'initialization failed');
  }
}
