/**
 * The signal requests waiting for a session sleep on. Anything that may make a session usable (a release, a
 * retirement, a new session, an init finishing, a pacing delay passing) calls `notify()`; each waiter then looks
 * again. Time comes from the pool clock, so a `SimulatedClock` drives the deadlines in tests.
 */
import type { Clock } from '../clock.js';

export class ChangeSignal {
  #waiters: (() => void)[] = [];

  /**
   * Resolves at the next `notify()`; rejects with `timeoutError()` once the pool clock reaches `deadline`, or with
   * the abort reason when `abort` fires.
   */
  wait(clock: Clock, deadline: number, timeoutError: () => Error, abort?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (abort?.aborted) {
        reject(abort.reason);
        return;
      }
      const delay = deadline - clock.now();
      if (delay <= 0) {
        reject(timeoutError());
        return;
      }
      const forget = () => {
        clock.clearTimeout(timer);
        abort?.removeEventListener('abort', onAbort);
        const index = this.#waiters.indexOf(waiter);
        if (index !== -1) this.#waiters.splice(index, 1);
      };
      const waiter = () => {
        clock.clearTimeout(timer);
        abort?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        forget();
        reject(abort?.reason);
      };
      const timer = clock.setTimeout(() => {
        forget();
        reject(timeoutError());
      }, delay);
      abort?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** Wakes every waiter. */
  notify(): void {
    if (this.#waiters.length === 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter();
  }

  /** Waiters asleep now. */
  get waiting(): number {
    return this.#waiters.length;
  }
}
