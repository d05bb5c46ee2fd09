/**
 * Per-session pacing (at most `maxConcurrencyPerSession` requests at once, at least `minDelayBetweenUsesMs`
 * between the starts of two), and the change signal waiting requests sleep on. Time comes from the pool clock,
 * so a `SimulatedClock` drives the delays in tests.
 */
import type { Clock } from '../clock.js';

/** Wakes every waiter when something that may free a session happens. */
export class ChangeSignal {
  #waiters: (() => void)[] = [];

  /** Resolves at the next `notify()`, or rejects with `timeoutError()` once the pool clock reaches `deadline`. */
  wait(clock: Clock, deadline: number, timeoutError: () => Error, abort?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (abort?.aborted) {
        reject(abort.reason);
        return;
      }
      let timer: unknown;
      const done = () => {
        clock.clearTimeout(timer);
        abort?.removeEventListener('abort', onAbort);
      };
      const waiter = () => {
        done();
        resolve();
      };
      const onAbort = () => {
        done();
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(abort?.reason);
      };
      const delay = deadline - clock.now();
      if (delay <= 0) {
        reject(timeoutError());
        return;
      }
      timer = clock.setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        abort?.removeEventListener('abort', onAbort);
        reject(timeoutError());
      }, delay);
      abort?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  notify(): void {
    if (this.#waiters.length === 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter();
  }

  get waiting(): number {
    return this.#waiters.length;
  }
}

/** The pacing state of one session. */
export class Pacer {
  readonly #max: number;
  readonly #minDelayMs: number;
  readonly #clock: Clock;
  readonly #onFree: () => void;
  #inFlight = 0;
  #nextStartAt = 0;

  constructor(maxConcurrency: number, minDelayMs: number, clock: Clock, onFree: () => void) {
    this.#max = maxConcurrency;
    this.#minDelayMs = minDelayMs;
    this.#clock = clock;
    this.#onFree = onFree;
  }

  /** Requests of this session in flight. */
  get inFlight(): number {
    return this.#inFlight;
  }

  canStart(): boolean {
    return this.#inFlight < this.#max && (this.#minDelayMs === 0 || this.#clock.now() >= this.#nextStartAt);
  }

  /** Takes a slot if one is free now. */
  tryStart(): boolean {
    if (!this.canStart()) return false;
    this.#inFlight += 1;
    if (this.#minDelayMs > 0) {
      this.#nextStartAt = this.#clock.now() + this.#minDelayMs;
      this.#clock.setTimeout(this.#onFree, this.#minDelayMs);
    }
    return true;
  }

  /** Gives back a slot taken by `tryStart`. */
  finish(): void {
    if (this.#inFlight > 0) this.#inFlight -= 1;
    this.#onFree();
  }
}
