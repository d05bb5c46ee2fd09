/** Small statistics and timing helpers shared by the benchmark parts. */

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Monotonic milliseconds. */
export function nowMs(): number {
  return performance.now();
}

/** Runs the full major GC that `--expose-gc` offers; a no-op (with a warning once) without it. */
let warnedNoGc = false;
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
    return;
  }
  if (!warnedNoGc) {
    warnedNoGc = true;
    process.emitWarning('run with --expose-gc: heap figures are unreliable without it');
  }
}

/**
 * A deterministic xorshift generator, so every contender sees the same sequence of outcomes (the pools' own
 * random choices still use Math.random, as they do in production).
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0 || 0x9e3779b9;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 0x1_0000_0000;
  };
}

/** The contenders in an order that rotates with the round, so none always runs first (or last). */
export function rotate<T>(items: readonly T[], round: number): T[] {
  const shift = round % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}
