/**
 * What one store instance remembers about each session it holds, to write only what it changed:
 * - its contribution to the counters: the local value minus the value the local session started from
 *   (`offset`); Redis keeps the last contribution per store and adds only the difference;
 * - the cookie fields it last saw in Redis, to send cookie diffs.
 */
import type { SessionContext } from '../../machines/session.machine.js';
import type { CookieFields } from './jar-sync.js';

export interface Counters {
  usage: number;
  score: number;
}

const ZERO: Counters = Object.freeze({ usage: 0, score: 0 });

export class SessionTracking {
  readonly #offsets = new Map<string, Counters>();
  /** Contribution last sent per session (reused for a deletion without a final context). */
  readonly #sent = new Map<string, Counters>();
  readonly #seen = new Map<string, CookieFields>();

  /** A session read from Redis: the local session starts from `start`, of which `mine` came from this store. */
  loaded(id: string, start: Counters, mine: Counters, cookies: CookieFields): void {
    this.#offsets.set(id, { usage: start.usage - mine.usage, score: start.score - mine.score });
    this.#sent.delete(id);
    this.#seen.set(id, cookies);
  }

  /** This store's contribution for the local counters `usage`/`score`; remembered as sent. */
  contribution(id: string, usage: number, score: number): Counters {
    const offset = this.#offsets.get(id) ?? ZERO;
    const sent = { usage: usage - offset.usage, score: score - offset.score };
    this.#sent.set(id, sent);
    return sent;
  }

  /** The local counters as of the last write, for a deletion that came without a final context. */
  lastKnown(id: string): Pick<SessionContext, 'id' | 'usageCount' | 'errorScore'> | undefined {
    const sent = this.#sent.get(id);
    if (!sent) return undefined;
    const offset = this.#offsets.get(id) ?? ZERO;
    return { id, usageCount: sent.usage + offset.usage, errorScore: sent.score + offset.score };
  }

  seen(id: string): CookieFields | undefined {
    return this.#seen.get(id);
  }

  setSeen(id: string, fields: CookieFields): void {
    this.#seen.set(id, fields);
  }

  forget(id: string): void {
    this.#offsets.delete(id);
    this.#sent.delete(id);
    this.#seen.delete(id);
  }

  clear(): void {
    this.#offsets.clear();
    this.#sent.clear();
    this.#seen.clear();
  }
}
