/**
 * Our session behind Crawlee's `Session` interface, one handle per crawler task: Crawlee marks the handle, the
 * handle marks our session, at most once per task (Crawlee can mark a task twice: `markBad` on a navigation
 * timeout and again when the task fails). A request our transport already counted (`fetchInCrawler`) ends the
 * task's count; retirements always go through.
 *
 * The task's use is reserved (a lease of `pool.acquire`) when its request is about to go out, not when Crawlee
 * asks for the session: Crawlee also asks for sessions it never marks (a browser's launch context, a task that
 * finds no request). Reserved, the use counts against `maxUsageCount` and `maxConcurrencyPerSession`, and a
 * session's first use goes alone, so two tasks never both visit a site as the same cookie-less session.
 */
import type { SessionLease } from '../acquisition/lease.js';
import type { BrowserCookie } from '../cookies.js';
import type { ResponseHeaders, Session } from '../session.js';
import type { SessionPool } from '../session-pool.js';
import { type CrawleeExportedSession, toCrawleeSession } from '../stores/crawlee-export.js';

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
  #lease: SessionLease | undefined;
  readonly #onLease: ((lease: SessionLease) => void) | undefined;

  /** @internal Made by the crawler's pool adapter, one per task; `onLease` sees the task's reserved use. */
  constructor(session: Session, pool: SessionPool, onLease?: (lease: SessionLease) => void) {
    this.session = session;
    this.pool = pool;
    this.#onLease = onLease;
  }

  /** The session's id (Crawlee's proxy session id too). */
  get id(): string {
    return this.session.id;
  }
  /** The session's free-form data, kept and persisted with it. */
  get userData(): Record<string, unknown> {
    return this.session.userData;
  }
  /** Failures minus healed successes; the session retires at `maxErrorScore`. */
  get errorScore(): number {
    return this.session.errorScore;
  }
  /** Uses counted so far. */
  get usageCount(): number {
    return this.session.usageCount;
  }
  /** Error score at which the session retires. */
  get maxErrorScore(): number {
    return this.session.maxErrorScore;
  }
  /** How much a success lowers the error score. */
  get errorScoreDecrement(): number {
    return this.session.errorScoreDecrement;
  }
  /** When the session expires. */
  get expiresAt(): Date {
    return this.session.expiresAt;
  }
  /** When the session was created. */
  get createdAt(): Date {
    return this.session.createdAt;
  }
  /** Uses after which the session retires. */
  get maxUsageCount(): number {
    return this.session.maxUsageCount;
  }
  /** The session's tough-cookie jar (Crawlee hands it to got-scraping as `cookieJar`). */
  get cookieJar(): Session['cookieJar'] {
    return this.session.cookieJar;
  }

  /** Whether this task's use was already counted (by our transport or by an earlier mark). */
  get counted(): boolean {
    return this.#counted;
  }

  /**
   * @internal Reserves the task's use of the session (once; nothing once the use was counted). Waits while the
   * session cannot take it (its first use in flight, `maxConcurrencyPerSession`); rejects like a pinned
   * `pool.acquire` once the session retired.
   */
  async reserve(): Promise<void> {
    if (this.#lease !== undefined || this.#counted) return;
    const lease = await this.pool.acquire({ session: this.session });
    if (this.#counted) {
      // Marked (a retirement, a timeout) while the use was being reserved: the use is not this task's any more.
      lease.release('unused');
      return;
    }
    this.#lease = lease;
    this.#onLease?.(lease);
  }

  /**
   * @internal Our transport is about to send a request of this task (`fetchInCrawler`) on a use of its own: the
   * task's reserved use goes back, for the transport to reserve it at once (same tick, so no other task does).
   */
  handOverReservation(): void {
    this.#lease?.release('unused');
    this.#lease = undefined;
  }

  /** @internal Our transport counted a request of this task: Crawlee's own mark for the task is not needed. */
  countedByTransport(): void {
    this.handOverReservation();
    this.#counted = true;
  }

  /** Crawlee's `isBlocked()`: the error score reached its maximum, or a blocked status code retired it. */
  isBlocked(): boolean {
    return this.session.isBlocked();
  }
  /** Crawlee's `isExpired()`. */
  isExpired(): boolean {
    return this.session.isExpired();
  }
  /** Crawlee's `isMaxUsageCountReached()`. */
  isMaxUsageCountReached(): boolean {
    return this.session.isMaxUsageCountReached();
  }
  /** Crawlee's `isUsable()`: our session can be handed out now. */
  isUsable(): boolean {
    return this.session.isUsable();
  }

  /** The task succeeded: counts the task's use as good, unless it was already counted. */
  markGood(): void {
    if (this.#counted) return;
    this.#counted = true;
    if (this.#lease) this.#lease.markGood();
    else this.session.markGood();
  }

  /** The task failed: counts the task's use as bad, unless it was already counted. */
  markBad(): void {
    if (this.#counted) return;
    this.#counted = true;
    if (this.#lease) this.#lease.markBad();
    else this.session.markBad();
  }

  /** Retires our session (always, even after the task's use was counted). */
  retire(): void {
    this.#counted = true;
    this.session.retire();
    // Retired first, so that the use it ends cannot retire the session for another reason (its last use).
    this.#endLease();
  }

  /** Retires our session if `statusCode` is one of its blocked codes (or of `additionalBlockedStatusCodes`). */
  retireOnBlockedStatusCodes(statusCode: number, additionalBlockedStatusCodes: number[] = []): boolean {
    const retired = this.session.retireOnBlockedStatusCodes(statusCode, additionalBlockedStatusCodes);
    if (retired) {
      this.#counted = true;
      this.#endLease();
    }
    return retired;
  }

  /** The request went out and the session is gone: the use counts, with no outcome for its error score. */
  #endLease(): void {
    this.#lease?.release('aborted');
    this.#lease = undefined;
  }

  /** The session's state in Crawlee's `SessionState` shape. */
  getState(): CrawleeExportedSession {
    return toCrawleeSession(this.session.getState());
  }

  /** Stores the `Set-Cookie` headers of a response (refused cookies are skipped and reported). */
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

  /** Cookies for `url` as Playwright/Puppeteer cookie objects. */
  getCookies(url: string): BrowserCookie[] {
    return this.session.getCookies(url);
  }

  /** The `Cookie` header value for `url`. */
  getCookieString(url: string): string {
    return this.session.getCookieString(url);
  }

  /** Like Crawlee's: a malformed or refused cookie is skipped, not thrown. */
  setCookie(rawCookie: string, url: string): void {
    this.session.setCookiesFromResponse({ headers: { 'set-cookie': [rawCookie] }, url });
  }
}
