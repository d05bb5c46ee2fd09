/**
 * A reserved use of one session: what `pool.acquire()` returns and what `pool.fetch`, the dispatchers and
 * `pool.withSession` hold while a request is in flight. The reservation itself is the session machine's
 * (`reserved` in its context); a lease is the caller's handle for ending it exactly once.
 */
import type { Dispatcher } from 'undici';
import type { ReleaseOutcome } from '../../machines/session.machine.js';
import type { Session } from '../session.js';

/** Ends a reserved use in the session's machine (or, for a fleet, in the shared store). */
export type ReleaseUse = (lease: SessionLease, outcome: ReleaseOutcome) => void;

/**
 * One reserved use of a session. End it with `markGood()`, `markBad()`, `retire()` or `release(outcome)`; until
 * then the use counts against the session's `maxUsageCount`, so no other request can take it. Ending it twice does
 * nothing.
 *
 * `signal` aborts when the lease can no longer be trusted: the caller's own signal aborted, or the pool is torn
 * down. Pass it to the client making the request. `dispatcher` sends through the session (its cookies, proxy
 * and header profile) without reserving another use: the lease holds this request's.
 *
 * @example
 * ```ts
 * await using lease = await pool.acquire();
 * const response = await fetch(url, { dispatcher: lease.dispatcher, signal: lease.signal });
 * if (response.ok) lease.markGood();
 * // leaving the block without an outcome releases the use as a failure
 * ```
 */
export class SessionLease implements AsyncDisposable, Disposable {
  /** The session this use belongs to. */
  readonly session: Session;
  readonly #release: ReleaseUse;
  readonly #dispatcher: () => Dispatcher;
  readonly #callerSignal: AbortSignal | undefined;
  /** Made on first use of `signal`: most leases (`pool.fetch`) never need one. */
  #controller: AbortController | undefined;
  #forgetCallerSignal: () => void = noop;
  #revokedBy: Error | undefined;
  /** Why the use was lost under its holder (a fleet lease not renewed in time); the lease is still held. */
  #lostBy: Error | undefined;
  /** Whether the use can be lost under its holder (a fleet's lease can; a local one is only revoked). */
  readonly #losable: boolean;
  /** Told when the use is lost under its holder (`onLost`), most often nobody. */
  #lostListeners: ((reason: Error) => void)[] | undefined;
  #outcome: ReleaseOutcome | undefined;

  /** @internal Leases are made by the pool's acquisition. */
  constructor(
    session: Session,
    release: ReleaseUse,
    dispatcher: () => Dispatcher,
    callerSignal?: AbortSignal,
    whenLost?: (abort: (reason: Error) => void) => void,
  ) {
    this.session = session;
    this.#release = release;
    this.#dispatcher = dispatcher;
    this.#callerSignal = callerSignal;
    this.#losable = whenLost !== undefined;
    whenLost?.((reason) => {
      if (this.#lostBy || !this.held) return;
      this.#lostBy = reason;
      this.#controller?.abort(reason);
      for (const listener of this.#lostListeners?.splice(0) ?? []) listener(reason);
    });
  }

  /** Aborts when the caller's signal aborts, the pool is torn down, or (a fleet's lease) the use is lost. */
  get signal(): AbortSignal {
    if (!this.#controller) {
      const controller = new AbortController();
      this.#controller = controller;
      const caller = this.#callerSignal;
      if (this.#revokedBy ?? this.#lostBy) controller.abort(this.#revokedBy ?? this.#lostBy);
      else if (caller?.aborted) controller.abort(caller.reason);
      else if (caller && this.held) {
        const onAbort = () => controller.abort(caller.reason);
        caller.addEventListener('abort', onAbort, { once: true });
        this.#forgetCallerSignal = () => caller.removeEventListener('abort', onAbort);
      }
    }
    return this.#controller.signal;
  }

  /** @internal Whether the use can be lost under its holder (a fleet lease): a request under it must stop then. */
  get losable(): boolean {
    return this.#losable;
  }

  /**
   * @internal Calls `listener` when the use is lost under its holder (at once if it was), so a request made under
   * it (`pool.fetch`, the pool's dispatcher) stops when another worker may be granted the session; returns what
   * unregisters it. Cheaper than `signal` (no controller, no event target) on the path every request takes.
   */
  onLost(listener: (reason: Error) => void): () => void {
    if (this.#lostBy) {
      listener(this.#lostBy);
      return noop;
    }
    if (!this.#losable || !this.held) return noop;
    this.#lostListeners ??= [];
    this.#lostListeners.push(listener);
    return () => {
      const index = this.#lostListeners?.indexOf(listener) ?? -1;
      if (index !== -1) this.#lostListeners?.splice(index, 1);
    };
  }

  /** Whether `signal` has aborted (read without making one). */
  get aborted(): boolean {
    return (
      this.#revokedBy !== undefined ||
      this.#lostBy !== undefined ||
      this.#callerSignal?.aborted === true ||
      this.#controller?.signal.aborted === true
    );
  }

  /**
   * An undici Dispatcher through this session (cookies on every hop, proxy, header profile, redirects) that
   * reserves nothing and reports nothing: the outcome is this lease's to report.
   */
  get dispatcher(): Dispatcher {
    return this.#dispatcher();
  }

  /** How the use ended, or `undefined` while it is held. */
  get outcome(): ReleaseOutcome | undefined {
    return this.#outcome;
  }

  /** Whether the use is still held. */
  get held(): boolean {
    return this.#outcome === undefined;
  }

  /** The request succeeded: the use counts and the error score drops by `errorScoreDecrement`. */
  markGood(): void {
    this.release('good');
  }

  /** The request failed: the use counts and the error score rises by 1. */
  markBad(): void {
    this.release('bad');
  }

  /** The session is burned: the use counts, and the session retires (`sessionRetired`, reason `manual`). */
  retire(): void {
    if (!this.held) return;
    this.release('aborted');
    this.session.retire();
  }

  /**
   * Ends the use. `good`/`bad` count it like `markGood`/`markBad`; `aborted` counts it without touching the error
   * score (the request may have gone out); `unused` gives it back (the request never left).
   *
   * @defaultValue `'bad'`: a use nobody reported on is a failure.
   */
  release(outcome: ReleaseOutcome = 'bad'): void {
    if (this.#outcome !== undefined) return;
    this.#outcome = outcome;
    this.#forgetCallerSignal();
    this.#release(this, outcome);
  }

  /** @internal Revokes the lease (pool teardown): its signal aborts and the use ends as `aborted`. */
  revoke(reason: Error): void {
    if (!this.held) return;
    this.#revokedBy = reason;
    this.#controller?.abort(reason);
    this.release('aborted');
  }

  /** Releases the use as a failure unless an outcome was given (`await using`). */
  async [Symbol.asyncDispose](): Promise<void> {
    this.release('bad');
  }

  /** Releases the use as a failure unless an outcome was given (`using`). */
  [Symbol.dispose](): void {
    this.release('bad');
  }
}

function noop(): void {}
