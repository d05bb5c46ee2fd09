/**
 * Assigns proxies and header profiles to new sessions round-robin, in the manner of scrapy-sessions' profiles:
 * a session keeps what it got for its whole life, and a retired session releases it. Among the entries, the
 * least-held one is taken first (ties in round-robin order), so entries released by retired sessions are
 * reused before any entry doubles up.
 */
export class ProfileAssigner<T> {
  readonly #items: readonly T[];
  readonly #holders: number[];
  #cursor = 0;

  constructor(items: readonly T[]) {
    this.#items = items;
    this.#holders = items.map(() => 0);
  }

  get size(): number {
    return this.#items.length;
  }

  /** Takes an entry; `undefined` when there are none. */
  assign(): { index: number; item: T } | undefined {
    const count = this.#items.length;
    if (count === 0) return undefined;
    let best = this.#cursor % count;
    for (let step = 1; step < count; step += 1) {
      const index = (this.#cursor + step) % count;
      if ((this.#holders[index] ?? 0) < (this.#holders[best] ?? 0)) best = index;
    }
    this.#holders[best] = (this.#holders[best] ?? 0) + 1;
    this.#cursor = best + 1;
    return { index: best, item: this.#items[best] as T };
  }

  /** Takes the first entry that `matches` (a restored session's own); `undefined` when none does. */
  claim(matches: (item: T, index: number) => boolean): { index: number; item: T } | undefined {
    const index = this.#items.findIndex(matches);
    if (index === -1) return undefined;
    this.#holders[index] = (this.#holders[index] ?? 0) + 1;
    return { index, item: this.#items[index] as T };
  }

  /** Gives back an entry taken by `assign` or `claim`. */
  release(index: number): void {
    const held = this.#holders[index];
    if (held !== undefined && held > 0) this.#holders[index] = held - 1;
  }

  /** How many live sessions hold each entry. */
  holders(): readonly number[] {
    return [...this.#holders];
  }
}
