/**
 * Tiny seeded randomness for the test site. Two shapes: a stream (mulberry32) for things built once, such as the
 * link graph, and a stateless hash for per-request fates, so a request's fate depends on what it is (which
 * visitor, which of that visitor's requests) and not on how concurrent requests happened to interleave.
 */

/** A mulberry32 generator: returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mixes up to three integers into a well-spread 32-bit integer (a murmur3-style finalizer per step). */
export function hash32(a: number, b = 0, c = 0): number {
  let h = Math.imul((a ^ 0x9e3779b9) >>> 0, 0x85ebca6b);
  h = mix(h ^ b);
  h = mix(h ^ c);
  return h >>> 0;
}

function mix(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/** A float in [0, 1) determined by the three integers. */
export function unitHash(a: number, b = 0, c = 0): number {
  return hash32(a, b, c) / 4294967296;
}
