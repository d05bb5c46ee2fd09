/**
 * The floor: the least a session pool can do with Crawlee's semantics (usage count, error score, blocked status
 * codes, retire and replace), written for the benchmark with a Map and an array and nothing else. No events,
 * no validation, no persistence, no supervision; O(1) everywhere.
 */
import { CookieJar } from 'tough-cookie';

export interface FloorSessionOptions {
  maxUsageCount: number;
  maxErrorScore: number;
  errorScoreDecrement: number;
  maxAgeSecs: number;
}

let nextId = 0;

export class FloorSession {
  readonly id = `floor_${(nextId++).toString(36)}`;
  readonly cookieJar = new CookieJar();
  readonly expiresAt: number;
  usageCount = 0;
  errorScore = 0;
  retired = false;
  /** Position in the pool's array, for O(1) removal. */
  slot = -1;
  readonly #pool: FloorPool;

  constructor(pool: FloorPool) {
    this.#pool = pool;
    this.expiresAt = Date.now() + pool.options.maxAgeSecs * 1000;
  }

  isUsable(): boolean {
    const { maxUsageCount, maxErrorScore } = this.#pool.options;
    return (
      !this.retired &&
      this.errorScore < maxErrorScore &&
      this.usageCount < maxUsageCount &&
      this.expiresAt > Date.now()
    );
  }

  markGood(): void {
    this.usageCount += 1;
    if (this.errorScore > 0)
      this.errorScore = Math.max(0, this.errorScore - this.#pool.options.errorScoreDecrement);
    this.#maybeRetire();
  }

  markBad(): void {
    this.usageCount += 1;
    this.errorScore += 1;
    this.#maybeRetire();
  }

  retire(): void {
    if (this.retired) return;
    this.retired = true;
    this.#pool.remove(this);
  }

  retireOnBlockedStatusCodes(statusCode: number): boolean {
    if (!this.#pool.blockedStatusCodes.has(statusCode)) return false;
    this.retire();
    return true;
  }

  setCookie(raw: string, url: string): void {
    this.cookieJar.setCookieSync(raw, url);
  }

  getCookieString(url: string): string {
    return this.cookieJar.getCookieStringSync(url);
  }

  #maybeRetire(): void {
    if (!this.isUsable()) this.retire();
  }
}

export class FloorPool {
  readonly options: FloorSessionOptions;
  readonly blockedStatusCodes: ReadonlySet<number>;
  readonly maxPoolSize: number;
  readonly #byId = new Map<string, FloorSession>();
  readonly #list: FloorSession[] = [];

  constructor(maxPoolSize: number, options: FloorSessionOptions, blockedStatusCodes = [401, 403, 429]) {
    this.maxPoolSize = maxPoolSize;
    this.options = options;
    this.blockedStatusCodes = new Set(blockedStatusCodes);
  }

  get size(): number {
    return this.#list.length;
  }

  /** Async like every real pool's, so the caller pays the same `await`. */
  async getSession(): Promise<FloorSession> {
    if (this.#list.length < this.maxPoolSize) return this.addSession();
    const picked = this.#list[Math.floor(Math.random() * this.#list.length)]!;
    if (picked.isUsable()) return picked;
    picked.retire();
    return this.addSession();
  }

  addSession(): FloorSession {
    const session = new FloorSession(this);
    session.slot = this.#list.length;
    this.#list.push(session);
    this.#byId.set(session.id, session);
    return session;
  }

  getById(id: string): FloorSession | undefined {
    return this.#byId.get(id);
  }

  remove(session: FloorSession): void {
    if (this.#byId.get(session.id) !== session) return;
    this.#byId.delete(session.id);
    const last = this.#list.pop()!;
    if (last !== session) {
      last.slot = session.slot;
      this.#list[session.slot] = last;
    }
  }

  sessions(): readonly FloorSession[] {
    return this.#list;
  }
}
