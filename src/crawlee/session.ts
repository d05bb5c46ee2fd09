/**
 * Our session behind Crawlee's `Session` interface, one handle per crawler task: Crawlee marks the handle, the
 * handle marks our session, at most once per task (Crawlee can mark a task twice: `markBad` on a navigation
 * timeout and again when the task fails). A request our transport already counted (`fetchInCrawler`) ends the
 * task's count; retirements always go through.
 */
import type { BrowserCookie } from '../cookies.js';
import type { ResponseHeaders, Session } from '../session.js';
import type { SessionPool } from '../session-pool.js';

/** The state Crawlee's `Session.getState()` returns. */
export interface CrawleeSessionStateShape {
  id: string;
  cookieJar: ReturnType<Session['getState']>['cookieJar'];
  userData: Record<string, unknown>;
  errorScore: number;
  maxErrorScore: number;
  errorScoreDecrement: number;
  usageCount: number;
  maxUsageCount: number;
  expiresAt: string;
  createdAt: string;
}

/**
 * What a Crawlee crawler sees as `context.session`: Crawlee's `Session` surface over one of our sessions. The
 * session itself is `context.session.session`.
 */
export class CrawleeSession {
  /** Our session. */
  readonly session: Session;
  /** The pool the session belongs to. */
  readonly pool: SessionPool;
  #counted = false;

  /** @internal Made by the crawler's pool adapter, one per task. */
  constructor(session: Session, pool: SessionPool) {
    this.session = session;
    this.pool = pool;
  }

  get id(): string {
    return this.session.id;
  }
  get userData(): Record<string, unknown> {
    return this.session.userData;
  }
  get errorScore(): number {
    return this.session.errorScore;
  }
  get usageCount(): number {
    return this.session.usageCount;
  }
  get maxErrorScore(): number {
    return this.session.maxErrorScore;
  }
  get errorScoreDecrement(): number {
    return this.session.errorScoreDecrement;
  }
  get expiresAt(): Date {
    return this.session.expiresAt;
  }
  get createdAt(): Date {
    return this.session.createdAt;
  }
  get maxUsageCount(): number {
    return this.session.maxUsageCount;
  }
  get cookieJar(): Session['cookieJar'] {
    return this.session.cookieJar;
  }

  /** Whether this task's use was already counted (by our transport or by an earlier mark). */
  get counted(): boolean {
    return this.#counted;
  }

  /** @internal Our transport counted a request of this task: Crawlee's own mark for the task is not needed. */
  countedByTransport(): void {
    this.#counted = true;
  }

  isBlocked(): boolean {
    return this.session.isBlocked();
  }
  isExpired(): boolean {
    return this.session.isExpired();
  }
  isMaxUsageCountReached(): boolean {
    return this.session.isMaxUsageCountReached();
  }
  isUsable(): boolean {
    return this.session.isUsable();
  }

  markGood(): void {
    if (this.#counted) return;
    this.#counted = true;
    this.session.markGood();
  }

  markBad(): void {
    if (this.#counted) return;
    this.#counted = true;
    this.session.markBad();
  }

  retire(): void {
    this.#counted = true;
    this.session.retire();
  }

  retireOnBlockedStatusCodes(statusCode: number, additionalBlockedStatusCodes: number[] = []): boolean {
    const retired = this.session.retireOnBlockedStatusCodes(statusCode, additionalBlockedStatusCodes);
    if (retired) this.#counted = true;
    return retired;
  }

  getState(): CrawleeSessionStateShape {
    const state = this.session.getState();
    return {
      id: state.id,
      cookieJar: state.cookieJar,
      userData: state.userData,
      errorScore: state.errorScore,
      maxErrorScore: state.maxErrorScore,
      errorScoreDecrement: state.errorScoreDecrement,
      usageCount: state.usageCount,
      maxUsageCount: state.maxUsageCount,
      expiresAt: state.expiresAt,
      createdAt: state.createdAt,
    };
  }

  setCookiesFromResponse(response: { headers: ResponseHeaders; url: string | URL }): void {
    this.session.setCookiesFromResponse(response);
  }

  /** Like Crawlee's: a cookie the jar refuses is skipped (and reported as `cookieRejected`), the rest are kept. */
  setCookies(cookies: BrowserCookie[], url: string): void {
    for (const cookie of cookies) {
      try {
        this.session.setCookies([cookie], url);
      } catch {
        // Crawlee's own session skips refused cookies too; the pool has reported it.
      }
    }
  }

  getCookies(url: string): BrowserCookie[] {
    return this.session.getCookies(url);
  }

  getCookieString(url: string): string {
    return this.session.getCookieString(url);
  }

  /** Like Crawlee's: a malformed or refused cookie is skipped, not thrown. */
  setCookie(rawCookie: string, url: string): void {
    this.session.setCookiesFromResponse({ headers: { 'set-cookie': [rawCookie] }, url });
  }
}
