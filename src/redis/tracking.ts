/**
 * What one store instance remembers about each session it holds, to write only what it changed:
 * - its contribution to the counters: the local value minus the value the local session started from
 *   (`offset`); Redis keeps the last contribution per store and adds only the difference;
 * - the cookie fields it last saw in Redis and that jar's version, to send cookie diffs and to fetch the jar
 *   again only when another worker changed it;
 * - why a session retired, and its final counters, for the write that deletes it.
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
  readonly #jarVersions = new Map<string, string>();
  readonly #retirements = new Map<string, { reason: string; context: SessionContext }>();

  /** A session read from Redis: the local session starts from `start`, of which `mine` came from this store. */
  loaded(id: string, start: Counters, mine: Counters, cookies: CookieFields, jarVersion: string): void {
    this.#offsets.set(id, { usage: start.usage - mine.usage, score: start.score - mine.score });
    this.#sent.delete(id);
    this.#seen.set(id, cookies);
    this.#jarVersions.set(id, jarVersion);
  }

  /** A session this store created in Redis (empty jar, version 0). */
  created(id: string, start: Counters): void {
    this.loaded(id, start, ZERO, new Map(), '0');
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

  jarVersion(id: string): string | undefined {
    return this.#jarVersions.get(id);
  }

  setJarVersion(id: string, version: string): void {
    this.#jarVersions.set(id, version);
  }

  /** After this store's write: the new version is ours only if nobody else changed the jar meanwhile. */
  wrote(id: string, version: string, changedByUs: boolean): void {
    const known = Number(this.#jarVersions.get(id) ?? Number.NaN);
    if (Number(version) === known + (changedByUs ? 1 : 0)) this.#jarVersions.set(id, version);
  }

  noteRetirement(id: string, reason: string, context: SessionContext): void {
    this.#retirements.set(id, { reason, context });
  }

  retirementOf(id: string): { reason: string; context: SessionContext } | undefined {
    return this.#retirements.get(id);
  }

  forget(id: string): void {
    this.#offsets.delete(id);
    this.#sent.delete(id);
    this.#seen.delete(id);
    this.#jarVersions.delete(id);
    this.#retirements.delete(id);
  }

  clear(): void {
    this.#offsets.clear();
    this.#sent.clear();
    this.#seen.clear();
    this.#jarVersions.clear();
    this.#retirements.clear();
  }
}
