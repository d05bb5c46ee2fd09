import type { SerializedCookieJar } from 'tough-cookie';
import type { Dispatcher } from 'undici';
import type { ActorRefFrom } from 'xstate';
import {
  MAX_DEADLINE_MS,
  type RetirementReason,
  type SessionContext,
  type SessionEvent,
  type SessionReadiness,
  type SessionStateName,
  type sessionMachine,
  stateNameOf,
  USABLE_STATES,
} from '../machines/session.machine.js';
import {
  type BrowserCookie,
  browserCookiesFor,
  type CookieJar,
  cookieHeaderFor,
  createCookieJar,
  readSetCookieHeader,
  serializeCookieJar,
  setCookieName,
  storeBrowserCookies,
  storeSetCookie,
  urlText,
} from './cookies.js';
import { describeValue } from './describe-value.js';
import { InvalidOptionError } from './errors.js';
import {
  exportStorageState,
  importStorageState,
  type StorageState,
  type StorageStateInput,
} from './storage-state.js';

/** JSON-safe picture of a session, shaped like Crawlee's `SessionState` plus the machine state. */
export interface SessionState {
  id: string;
  state: SessionStateName;
  userData: Record<string, unknown>;
  errorScore: number;
  maxErrorScore: number;
  errorScoreDecrement: number;
  usageCount: number;
  maxUsageCount: number;
  /** ISO 8601. */
  createdAt: string;
  /** ISO 8601. */
  expiresAt: string;
  /** ISO 8601, while cooling down. */
  blockedUntil: string | null;
  retirementReason: RetirementReason | null;
  blockedStatusCode: number | null;
  /** Uses reserved by requests in flight. */
  reservedUses: number;
  readiness: SessionReadiness;
  cookieJar: SerializedCookieJar;
}

/** A cookie the jar refused, reported through the pool's `cookieRejected` event. */
export interface CookieRejection {
  sessionId: string;
  url: string;
  /** The cookie's name (never its value). */
  cookieName: string;
  reason: string;
}

/** The XState actor of one session. */
export type SessionActorRef = ActorRefFrom<typeof sessionMachine>;

/** What a session needs from the pool that owns it. */
export interface SessionHost {
  now(): number;
  reportCookieRejected(rejection: CookieRejection): void;
  /** Makes the jar of a session that has none yet (on its first cookie access). */
  createCookieJar(sessionId: string): CookieJar;
  /** The pool's HTTP layer (src/http/); absent for sessions made outside a pool. */
  http?: SessionHttpAccess;
}

/** What a session handle asks of the pool's HTTP layer. */
export interface SessionHttpAccess {
  dispatcherOf(session: Session): Dispatcher;
  renew(session: Session): Promise<void>;
  proxyUrlOf(session: Session): string | null;
  revealProxyUrlOf(session: Session): string | null;
  headerProfileOf(
    session: Session,
  ): { name?: string; userAgent?: string; headers?: Record<string, string> } | null;
}

/** A minimal headers shape: what `node:http`, undici and fetch responses carry. */
export type ResponseHeaders =
  | Record<string, string | string[] | number | undefined>
  | { get(name: string): string | null; getSetCookie?(): string[] };

/** Read (never written) by sessions that have no jar of their own yet. */
let NEVER_WRITTEN_JAR: CookieJar | undefined;

const MARK_GOOD: SessionEvent = Object.freeze({ type: 'session.markGood' });
const MARK_BAD: SessionEvent = Object.freeze({ type: 'session.markBad' });

/**
 * One simulated user. A thin handle on the session's actor: every property reads the actor's snapshot, every
 * mark sends the actor an event. Marks on a retired session are ignored.
 */
export class Session {
  readonly #ref: SessionActorRef;
  readonly #host: SessionHost;
  /** Made on first access: an idle session of a large pool holds no jar (about 650 bytes each). */
  #jar: CookieJar | undefined;

  /** @internal Sessions are created by their pool; `cookieJar` is a restored jar, or undefined for a new one. */
  constructor(ref: SessionActorRef, cookieJar: CookieJar | undefined, host: SessionHost) {
    this.#ref = ref;
    this.#jar = cookieJar;
    this.#host = host;
  }

  /** The session's cookie jar (tough-cookie). */
  get cookieJar(): CookieJar {
    this.#jar ??= this.#host.createCookieJar(this.#ref.getSnapshot().context.id);
    return this.#jar;
  }

  get #context(): SessionContext {
    return this.#ref.getSnapshot().context as SessionContext;
  }

  /** The live XState actor of this session (for `subscribe` and inspection). */
  get actor(): SessionActorRef {
    return this.#ref;
  }

  /**
   * This session's undici Dispatcher for `request`/`fetch`: its own agent (and proxy), its cookies on every
   * hop, its header profile, pacing, and outcomes reported to the session. Throws once the session retired.
   */
  get dispatcher(): Dispatcher {
    return this.#httpAccess().dispatcherOf(this);
  }

  /** The session's proxy with credentials redacted (`http://user:***@host:port`), or null. */
  get proxyUrl(): string | null {
    return this.#host.http?.proxyUrlOf(this) ?? null;
  }

  /**
   * The session's proxy URL **with its credentials** (`http://user:secret@host:port`), or null: for handing the
   * session's proxy to another client (got-scraping's `proxyUrl`, a Playwright context's `proxy`).
   *
   * Secret-bearing, and deliberately so named: the library never puts this value in events, snapshots, persisted
   * state, logs or the inspector (they carry {@link Session.proxyUrl}, which is redacted). Do not log it.
   *
   * @example
   * ```ts
   * const response = await gotScraping({ url, cookieJar: session.cookieJar, proxyUrl: session.revealProxyUrl() ?? undefined });
   * ```
   */
  revealProxyUrl(): string | null {
    return this.#host.http?.revealProxyUrlOf(this) ?? null;
  }

  /** The header profile bound to this session for life, or null. */
  get headerProfile(): { name?: string; userAgent?: string; headers?: Record<string, string> } | null {
    return this.#host.http?.headerProfileOf(this) ?? null;
  }

  /** Clears the cookie jar and re-runs the pool's `initSession`; requests meanwhile wait, then use the new cookies. */
  renew(): Promise<void> {
    return this.#httpAccess().renew(this);
  }

  #httpAccess(): SessionHttpAccess {
    const http = this.#host.http;
    if (!http)
      throw new InvalidOptionError('session', 'this session does not belong to a pool with an HTTP layer');
    return http;
  }

  get id(): string {
    return this.#context.id;
  }
  /** The lifecycle state: `fresh`, `active`, `degraded`, `blocked`, `expired` or `retired`. */
  get state(): SessionStateName {
    return stateNameOf(this.#ref.getSnapshot().value);
  }
  /** Free-form data; mutate it in place, it is kept (and persisted) with the session. */
  get userData(): Record<string, unknown> {
    return this.#context.userData;
  }
  get errorScore(): number {
    return this.#context.errorScore;
  }
  get usageCount(): number {
    return this.#context.usageCount;
  }
  get maxUsageCount(): number {
    return this.#context.maxUsageCount;
  }
  get maxErrorScore(): number {
    return this.#context.maxErrorScore;
  }
  get errorScoreDecrement(): number {
    return this.#context.errorScoreDecrement;
  }
  get createdAt(): Date {
    return new Date(this.#context.createdAt);
  }
  get expiresAt(): Date {
    return new Date(this.#context.expiresAt);
  }
  /**
   * Uses handed out to requests (`pool.fetch`, the dispatchers, `pool.acquire`, `pool.withSession`) whose outcome
   * has not come back. `usageCount + reservedUses` never passes `maxUsageCount`.
   */
  get reservedUses(): number {
    return this.#context.reserved;
  }
  /** Where the session stands in `initSession` and renewal; requests use only `ready` sessions. */
  get readiness(): SessionReadiness {
    return this.#context.readiness;
  }
  /** Why the last `initSession` of this session failed (secrets scrubbed), or null. */
  get initError(): string | null {
    return this.#context.initError;
  }
  /** `sessionChecker` failures since the session was (re)initialized. */
  get checkFailures(): number {
    return this.#context.checkFailures;
  }
  /** While cooling down in `blocked`: when the cool-down ends. */
  get blockedUntil(): Date | null {
    const until = this.#context.blockedUntil;
    return until === null ? null : new Date(until);
  }
  /** Why the session retired, once it has. */
  get retirementReason(): RetirementReason | null {
    return this.#context.retirementReason;
  }

  /** Blocked: the error score reached `maxErrorScore`, a blocked status code was seen, or cooling down. */
  isBlocked(): boolean {
    const context = this.#context;
    return (
      this.state === 'blocked' ||
      context.errorScore >= context.maxErrorScore ||
      context.retirementReason === 'blocked' ||
      context.retirementReason === 'blockedStatusCode'
    );
  }

  /** Past `maxAgeSecs`. */
  isExpired(): boolean {
    return this.#context.expiresAt <= this.#host.now() || this.#context.retirementReason === 'expired';
  }

  isMaxUsageCountReached(): boolean {
    return this.#context.usageCount >= this.#context.maxUsageCount;
  }

  /** Can be handed out: `fresh`, `active` or `degraded`. */
  isUsable(): boolean {
    return USABLE_STATES.has(this.state) && !this.isExpired();
  }

  /**
   * A request through this session succeeded: usage +1, error score lowered by `errorScoreDecrement`. For a use
   * reserved with `pool.acquire()`, end the lease instead (`lease.markGood()`).
   *
   * @example
   * ```ts
   * const session = await pool.getSession();
   * const { statusCode } = await request(url, { headers: { cookie: session.getCookieString(url) } });
   * if (statusCode === 200) session.markGood();
   * else if (!session.retireOnBlockedStatusCodes(statusCode)) session.markBad();
   * ```
   */
  markGood(): void {
    this.#send(MARK_GOOD);
  }

  /** A request through this session failed: usage +1, error score +1. Retires the session at `maxErrorScore`. */
  markBad(): void {
    this.#send(MARK_BAD);
  }

  /** Retires the session now. Idempotent: the pool emits `sessionRetired` once, ever. */
  retire(): void {
    this.#send({ type: 'session.retire', reason: 'manual' });
  }

  /**
   * Retires the session if `statusCode` is one of the pool's `blockedStatusCodes` (or of `additionalBlockedStatusCodes`).
   * Returns whether it did.
   */
  retireOnBlockedStatusCodes(
    statusCode: number,
    additionalBlockedStatusCodes: readonly number[] = [],
  ): boolean {
    if (!this.#isLive()) return false;
    this.#ref.send({
      type: 'session.responseStatus',
      statusCode,
      extraBlockedStatusCodes: additionalBlockedStatusCodes,
    } satisfies SessionEvent);
    return this.#context.retirementReason === 'blockedStatusCode' && !this.#isLive();
  }

  /**
   * Takes the session out of rotation until `until` (a Date or epoch ms), then returns it to `active`;
   * e.g. after a 429 with `Retry-After`. Expiry still applies while cooling down. Any length up to ten years
   * (`MAX_DEADLINE_MS`) is honoured, also past a restart; `InvalidOptionError` (field `until`) for a time that is
   * not a finite date within that bound.
   */
  coolDown(until: Date | number): void {
    const at = until instanceof Date ? until.getTime() : until;
    if (typeof at !== 'number' || !Number.isFinite(at)) {
      throw new InvalidOptionError(
        'until',
        `expected a Date or epoch milliseconds, got ${describeValue(until)}`,
      );
    }
    if (at > this.#host.now() + MAX_DEADLINE_MS) {
      throw new InvalidOptionError(
        'until',
        `must be at most ten years ahead, got ${new Date(at).toISOString()}`,
      );
    }
    this.#send({ type: 'session.coolDown', until: at });
  }

  /** Sends any session event to the actor (ignored once retired). */
  send(event: SessionEvent): void {
    this.#send(event);
  }

  /**
   * Stores every `Set-Cookie` of a response. Never throws: a malformed, oversized, public-suffix or foreign
   * cookie is skipped and reported (`cookieRejected`); the cookies that parse are kept.
   */
  setCookiesFromResponse(response: { headers: ResponseHeaders; url: string | URL }): void {
    const { headers, url } = (typeof response === 'object' && response !== null ? response : {}) as {
      headers?: unknown;
      url?: unknown;
    };
    for (const raw of readSetCookieHeader(headers)) {
      try {
        storeSetCookie(this.cookieJar, raw, url);
      } catch (error) {
        this.#host.reportCookieRejected({
          sessionId: this.id,
          url: urlText(url),
          cookieName: setCookieName(raw),
          reason: error instanceof Error ? error.message : String(error),
        });
      }
    }
  }

  /** Stores one `Set-Cookie` value for `url`. Throws `InvalidCookieError` if it is malformed or refused. */
  setCookie(rawCookie: string, url: string | URL): void {
    storeSetCookie(this.cookieJar, rawCookie, url);
  }

  /**
   * Stores Playwright/Puppeteer cookies for `url`. Every cookie is checked first: a bad one throws
   * `InvalidCookieError` whose `field` names it (`cookies[2].expires`) and nothing is stored. A cookie the jar
   * refuses (public suffix, foreign domain) throws too, keeping those before it. A bad `url` throws
   * `InvalidOptionError` (`url`).
   */
  setCookies(cookies: readonly BrowserCookie[], url: string | URL): void {
    storeBrowserCookies(this.cookieJar, cookies, url);
  }

  /** Cookies to send to `url`, as Playwright/Puppeteer cookie objects. A bad `url` throws `InvalidOptionError`. */
  getCookies(url: string | URL): BrowserCookie[] {
    return browserCookiesFor(this.#readableJar(), url);
  }

  /** The `Cookie` header value for `url`. A bad `url` throws `InvalidOptionError`. */
  getCookieString(url: string | URL): string {
    return cookieHeaderFor(this.#readableJar(), url);
  }

  /**
   * The whole cookie jar in Playwright's `storageState` format (every unexpired cookie, whatever its domain or
   * path; `origins` empty). Feed it to `browser.newContext({ storageState })` or `context.addCookies()`.
   * @example
   * ```ts
   * const context = await browser.newContext({ storageState: session.exportStorageState() });
   * ```
   */
  exportStorageState(): StorageState {
    return exportStorageState(this.#readableJar(), { now: this.#host.now() });
  }

  /**
   * Writes the cookies of a Playwright `storageState` document (object or JSON text) into the jar, all or
   * nothing: a bad field throws `InvalidOptionError` (naming it) and a refused cookie `InvalidCookieError`
   * before anything is written. Returns how many cookies were written.
   * @example
   * ```ts
   * session.importStorageState(await context.storageState());
   * ```
   */
  importStorageState(state: StorageStateInput): number {
    return importStorageState(this.cookieJar, state, { now: this.#host.now() });
  }

  /** JSON-safe state, cookie jar included. */
  getState(): SessionState {
    const context = this.#context;
    return {
      id: context.id,
      state: this.state,
      userData: context.userData,
      errorScore: context.errorScore,
      maxErrorScore: context.maxErrorScore,
      errorScoreDecrement: context.errorScoreDecrement,
      usageCount: context.usageCount,
      maxUsageCount: context.maxUsageCount,
      createdAt: new Date(context.createdAt).toISOString(),
      expiresAt: new Date(context.expiresAt).toISOString(),
      blockedUntil: context.blockedUntil === null ? null : new Date(context.blockedUntil).toISOString(),
      retirementReason: context.retirementReason,
      blockedStatusCode: context.blockedStatusCode,
      reservedUses: context.reserved,
      readiness: context.readiness,
      cookieJar: serializeCookieJar(this.#readableJar(), ({ domain, cookieName, reason }) =>
        this.#host.reportCookieRejected({ sessionId: context.id, url: domain ?? '', cookieName, reason }),
      ),
    };
  }

  /** The jar for reading only: a session that has none yet reads an empty one instead of making its own. */
  #readableJar(): CookieJar {
    if (this.#jar) return this.#jar;
    NEVER_WRITTEN_JAR ??= createCookieJar({ maxCookiesPerSession: 0, maxCookiesPerDomain: 0 });
    return NEVER_WRITTEN_JAR;
  }

  #isLive(): boolean {
    return this.#ref.getSnapshot().status === 'active';
  }

  #send(event: SessionEvent): void {
    if (this.#isLive()) this.#ref.send(event);
  }
}
