/**
 * The time source of a pool. XState schedules delayed transitions with `setTimeout`/`clearTimeout`; the pool also
 * needs `now()` to turn absolute deadlines into delays. xstate's `SimulatedClock` satisfies this interface.
 */
export interface Clock {
  now(): number;
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Wall-clock time. Timers are unref'd: a session's expiry timer never keeps the process alive on its own. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
