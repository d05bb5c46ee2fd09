/**
 * `redisFleet()`: the `SessionFleet` a `SessionPool` opens to share its sessions with other processes through
 * Redis (`SessionPool.open({ fleet: redisFleet({ redisUrl, keyPrefix }) })`). It speaks the fleet protocol
 * (`FleetClient`) and keeps the pool's local copies in step: a session granted here for the first time is
 * adopted from its record in Redis; cookies arrive as the changes this worker has not seen and leave as the
 * changes made here; retirements anywhere retire the local copy; a Redis that lost the pool's state retires every
 * local copy and says so (`stateLost`). A grant reserves up to `usesPerGrant` uses: the requests this worker
 * starts in the turn a use of it ended take the next ones here, and the grant goes back at the end of that turn
 * (or once its uses are taken) with the outcome of every use.
 */
import { EventEmitter } from 'eventemitter3';
import type { ReleaseOutcome, RetirementReason } from '../../../machines/session.machine.js';
import { isRetirementReason, USABLE_STATES } from '../../../machines/session.machine.js';
import type {
  FleetEvents,
  FleetHost,
  FleetStats,
  FleetUse,
  FleetUseRequest,
  SessionFleet,
} from '../../acquisition/fleet.js';
import { cookieJarRevision } from '../../cookies.js';
import {
  DuplicateSessionError,
  InvalidOptionError,
  NoUsableSessionError,
  PoolFullError,
  PoolNotRunningError,
  UnknownSessionError,
} from '../../errors.js';
import { numberOption } from '../../options.js';
import type { Session } from '../../session.js';
import type { PersistedSessionRecord } from '../../stores/types.js';
import {
  type CookieFields,
  diffFields,
  fieldsOfFlat,
  fieldsOfSerialized,
  mergeRemoteJar,
  serializedOfFields,
} from '../jar-sync.js';
import { type RedisConnectionOptions, resolveRedisConnection } from '../options.js';
import { contextFields } from '../records.js';
import { FleetClient, type FleetGrant, type FleetNewSession, usesMade } from './client.js';
import type { FleetLeaseLostError } from './errors.js';

/** Retirements a worker remembers, so a grant racing its own retirement is not adopted again. */
const MAX_REMEMBERED_RETIREMENTS = 10_000;

/** A grant this worker holds: its session, the reserved uses not taken yet, and how each taken one ended. */
interface HeldGrant {
  readonly grant: FleetGrant;
  readonly session: Session;
  left: number;
  /** Outcomes of the uses taken so far, in order (a use given back `unused` is not among them). */
  readonly outcomes: ReleaseOutcome[];
}

/** Options of `redisFleet()`. */
export interface RedisFleetOptions extends Omit<RedisConnectionOptions, 'tombstoneTtlSecs'> {
  /**
   * Seed nodes of a Redis Cluster (`[{ host, port }]`), used instead of `redisUrl`. Every key of a pool shares
   * one hash tag, so a pool lives in one slot.
   * @defaultValue `undefined` (a single node at `redisUrl`)
   */
  clusterNodes?: { host: string; port: number }[];
  /**
   * Lease time-to-live in ms (Redis time). Leases are renewed every third of it; one that is not renewed in time
   * lapses, its use counts, and its holder's `signal` aborts.
   * @defaultValue `30_000`
   */
  leaseTtlMs?: number;
  /**
   * How long one Redis command may take before the connection counts as lost (`connectionLost`), in ms.
   * @defaultValue `5000`
   */
  commandTimeoutMs?: number;
  /**
   * Uses a grant reserves in Redis at once. A request that ends frees its session here; a request this worker
   * starts before the event loop's turn is over takes that session's next reserved use without a round trip,
   * and what is left goes back at the end of the turn, with the outcomes and cookie changes of every use. So a
   * crawler loop makes a round trip every few requests, not every request, and Redis does a fraction of the work.
   * The limits stay exact: reserved uses count against `maxUsageCount` fleet-wide, and a lapsed lease (its worker
   * died) counts all of its reserved uses. What it costs: one worker may serve up to this many requests in a row
   * on a session, and other workers see their outcomes and cookies when the lease ends, not after each request.
   * `1` makes every request a grant of its own. A paced session (`minDelayBetweenUsesMs`) reserves one use per
   * grant, and so does every grant while some worker waits for a session (uses then go round one by one).
   * @defaultValue `10`
   */
  usesPerGrant?: number;
}

/**
 * Events of a Redis fleet: the core's `FleetEvents`, which the pool that opened the fleet emits too (listen on
 * either). `stateLost` means Redis came back without this pool's keys (restarted without persistence, or reset).
 */
export interface RedisFleetEvents extends Omit<FleetEvents, 'leaseLost'> {
  /** A lease of this worker was lost before its release; its `signal` aborted. */
  leaseLost: (event: { sessionId: string; error: FleetLeaseLostError }) => void;
}

/**
 * A fleet on Redis for `SessionPool.open({ fleet })`: sessions, uses, leases and cookies shared by every worker
 * that opens a pool on the same `keyPrefix`.
 *
 * @example
 * ```ts
 * import { SessionPool } from 'session-supervisor';
 * import { redisFleet } from 'session-supervisor/redis';
 *
 * const pool = await SessionPool.open({
 *   maxPoolSize: 50,
 *   sessionOptions: { maxUsageCount: 20 },
 *   fleet: redisFleet({ redisUrl: process.env.REDIS_URL, keyPrefix: 'crawl:shop:' }),
 * });
 * const page = await pool.fetch('https://example.com/');
 * await pool.teardown();
 * ```
 */
export function redisFleet(options: RedisFleetOptions = {}): RedisFleet {
  return new RedisFleet(options);
}

/**
 * The Redis implementation of the core's `SessionFleet` (made by `redisFleet()`); listen to it for the fleet's
 * events (`connectionLost`, `connectionRestored`, `stateLost`, `leaseLost`).
 */
export class RedisFleet extends EventEmitter<RedisFleetEvents> implements SessionFleet {
  readonly #client: FleetClient;
  #host: FleetHost | undefined;
  /** What this worker last knew of each session's jar in Redis. */
  readonly #seen = new Map<string, CookieFields>();
  /**
   * The jar revision at which a local jar held exactly what `#seen` says Redis holds: a release of a jar still at
   * that revision has no cookie change to send, and is sent without serializing the jar.
   */
  readonly #synced = new Map<string, number>();
  /** Sessions the fleet itself retired here: their retirement is not sent back. */
  readonly #retiredByFleet = new Set<string>();
  /**
   * Sessions retired in this worker (most recent first out), with why: a grant of one whose retirement has not
   * reached Redis yet gives the use back and sends the retirement again, rather than adopting it a second time.
   */
  readonly #retiredHere = new Map<string, RetirementReason>();
  readonly #pending = new Set<Promise<unknown>>();
  readonly #usesPerGrant: number;
  /** Grants with reserved uses left and no request on them: taken by this turn's requests, or released at its end. */
  readonly #idle: HeldGrant[] = [];
  #idleRelease: NodeJS.Immediate | undefined;
  #closing = false;
  readonly #stats = { requests: 0, leasesExpired: 0, retiredByReason: {} as Record<string, number> };

  /** Validates the options (`InvalidOptionError` naming the field); connects on `pool.initialize()`. */
  constructor(options: RedisFleetOptions = {}) {
    super();
    const input = (options ?? {}) as Record<string, unknown>;
    if (typeof input !== 'object' || Array.isArray(input))
      throw new InvalidOptionError('fleet', 'expected redisFleet options');
    const connection = resolveRedisConnection(input);
    const leaseTtlMs = numberOption('leaseTtlMs', input.leaseTtlMs, 30_000, {
      integer: true,
      min: 100,
      max: 86_400_000,
    });
    const commandTimeoutMs = numberOption('commandTimeoutMs', input.commandTimeoutMs, 5000, {
      integer: true,
      min: 10,
      max: 600_000,
    });
    this.#usesPerGrant = numberOption('usesPerGrant', input.usesPerGrant, 10, {
      integer: true,
      min: 1,
      max: 1000,
    });
    const nodes = input.clusterNodes;
    if (
      nodes !== undefined &&
      (!Array.isArray(nodes) ||
        nodes.length === 0 ||
        !nodes.every((node) => typeof node?.host === 'string' && Number.isInteger(node?.port)))
    ) {
      throw new InvalidOptionError('clusterNodes', 'expected a non-empty array of { host, port }');
    }
    this.#client = new FleetClient({
      redisUrl: connection.url,
      clusterNodes: nodes as { host: string; port: number }[] | undefined,
      keyPrefix: connection.keyPrefix,
      leaseTtlMs,
      commandTimeoutMs,
      connectTimeoutMs: connection.connectTimeoutMs,
      redisOptions: connection.redisOptions as Record<string, unknown>,
    });
    this.#client.on('connectionLost', (error) => this.#report('connectionLost', { error }));
    this.#client.on('connectionRestored', () => this.#report('connectionRestored'));
    this.#client.on('leaseLost', (sessionId, error) => this.#report('leaseLost', { sessionId, error }));
    this.#client.on('retired', (id, reason) => this.#heardRetired(id, reason));
    this.#client.on('generationLost', (event) =>
      this.#lostState(event.previous, event.current, event.leasesLost),
    );
  }

  /** Connects and joins the pool's generation (called by `pool.initialize()`). */
  async open(host: FleetHost): Promise<void> {
    this.#host = host;
    this.#client.maxPoolSize = host.maxPoolSize;
    await this.#client.open();
  }

  /** Grants one use, adopting the session here on its first grant (called by the pool's acquisition). */
  async acquire(request: FleetUseRequest): Promise<FleetUse> {
    const host = this.#requireHost();
    const idle = this.#takeIdle(request);
    if (idle) return this.#use(idle);
    for (;;) {
      const grant = await this.#client.acquire({
        sessionId: request.sessionId,
        exclude: request.exclude,
        signal: request.signal,
        deadline: Date.now() + request.waitMs,
        newSession: async () => this.#newSession(await host.newSessionRecord()),
        uses: host.minDelayBetweenUsesMs > 0 ? 1 : this.#usesPerGrant,
      });
      if (!('token' in grant)) {
        if (grant.kind === 'closed') throw new PoolNotRunningError('it was torn down');
        if (grant.kind === 'gone') throw new UnknownSessionError(grant.sessionId);
        throw new NoUsableSessionError(
          request.sessionId === undefined
            ? `the fleet granted no session within sessionWaitTimeoutMs (${request.waitMs} ms)`
            : `session "${request.sessionId}" could not take the request within sessionWaitTimeoutMs (${request.waitMs} ms)`,
        );
      }
      const retired = this.#retiredHere.get(grant.sessionId);
      if (retired !== undefined) {
        this.#track(this.#client.release(grant, { outcome: 'unused', retireReason: retired }));
        if (request.sessionId !== undefined) throw new UnknownSessionError(request.sessionId);
        continue;
      }
      const session = await this.#localCopy(grant);
      if (session && session.state !== 'retired')
        return this.#use({ grant, session, left: grant.uses, outcomes: [] });
      // No local copy could be made (or it retired here meanwhile): the use goes back unused.
      this.#track(this.#client.release(grant, { outcome: 'unused' }));
      if (request.sessionId !== undefined) throw new UnknownSessionError(request.sessionId);
    }
  }

  /**
   * Creates a session in Redis (the pool's `addSession`): within `maxPoolSize` fleet-wide, under an id never used
   * in this fleet (a retired session's id stays taken while its tombstone lasts), and adopts it here. Its creation
   * is a grant to this worker, given back unused at once, so any worker may be granted it next.
   */
  async add(record: PersistedSessionRecord, waitMs: number): Promise<Session> {
    const host = this.#requireHost();
    const grant = await this.#client.acquire({
      add: this.#newSession(record),
      deadline: Date.now() + waitMs,
    });
    if (!('token' in grant)) {
      if (grant.kind === 'closed') throw new PoolNotRunningError('it was torn down');
      if (grant.kind === 'full') throw new PoolFullError(host.maxPoolSize);
      if (grant.kind === 'duplicate') throw new DuplicateSessionError(record.id);
      throw new NoUsableSessionError(
        `the fleet did not answer within ${waitMs} ms to add session "${record.id}"`,
      );
    }
    const session = await this.#localCopy(grant);
    if (!session) {
      this.#track(this.#client.release(grant, { outcome: 'unused' }));
      throw new UnknownSessionError(record.id);
    }
    this.#release(session, grant, 'unused');
    return session;
  }

  /** A local session retired for a local reason: it retires in Redis too (called by the pool). */
  sessionRetired(sessionId: string, reason: RetirementReason): void {
    this.#seen.delete(sessionId);
    this.#synced.delete(sessionId);
    this.#retiredHere.set(sessionId, reason);
    if (this.#retiredHere.size > MAX_REMEMBERED_RETIREMENTS) {
      const oldest = this.#retiredHere.keys().next().value;
      if (oldest !== undefined) this.#retiredHere.delete(oldest);
    }
    if (this.#retiredByFleet.delete(sessionId)) return;
    this.#track(this.#client.release({ sessionId, token: '' }, { outcome: 'unused', retireReason: reason }));
  }

  /** This worker's fleet counters (`pool.stats().fleet`). */
  stats(): FleetStats {
    const counters = this.#client.counters;
    return {
      requests: this.#stats.requests,
      retiredByReason: { ...this.#stats.retiredByReason },
      leasesGranted: counters.leasesGranted,
      leasesLost: counters.leasesLost,
      leasesExpired: this.#stats.leasesExpired,
      roundTrips: counters.roundTrips,
      connected: this.#client.connected,
    };
  }

  /** The fleet-wide counters in Redis (one round trip): uses, leases granted / expired / lost, retirements. */
  fleetCounters(): Promise<Record<string, number>> {
    return this.#client.fleetCounters();
  }

  /** Deletes this pool's keys in Redis (and no other pool's); every worker then starts a new generation. */
  reset(): Promise<void> {
    return this.#client.reset();
  }

  /** Writes pending releases (bounded by four command timeouts), then disconnects (called by `pool.teardown()`). */
  async close(): Promise<void> {
    this.#closing = true;
    this.#releaseIdle();
    const deadline = new Promise((resolve) =>
      setTimeout(resolve, 4 * this.#client.options.commandTimeoutMs).unref(),
    );
    await Promise.race([Promise.allSettled([...this.#pending]), deadline]);
    await this.#client.close();
  }

  #requireHost(): FleetHost {
    if (!this.#host) throw new PoolNotRunningError('the fleet is not open');
    return this.#host;
  }

  #newSession(record: PersistedSessionRecord): FleetNewSession {
    const host = this.#requireHost();
    if (/[\n|\0]/.test(record.id)) {
      throw new InvalidOptionError('id', 'a fleet session id must not contain "|", a line break or a NUL');
    }
    return {
      id: record.id,
      record: JSON.stringify(contextFields(record)),
      maxUsageCount: record.maxUsageCount,
      maxErrorScore: record.maxErrorScore,
      expiresAt: record.expiresAt,
      blockedUntil: record.blockedUntil ?? 0,
      maxConcurrency: host.maxConcurrencyPerSession,
      minDelayMs: host.minDelayBetweenUsesMs,
      errorScoreDecrement: record.errorScoreDecrement,
    };
  }

  /** The local session of a grant: adopted on first grant, its jar brought up to Redis's. */
  async #localCopy(grant: FleetGrant): Promise<Session | undefined> {
    const host = this.#requireHost();
    let session = host.session(grant.sessionId);
    if (!session) {
      const remote = fieldsOfFlat(grant.cookies.flat());
      let context = grant.record;
      let cookies = remote;
      if (context === undefined || grant.cookieMode !== 'full') {
        // Granted before and forgotten here since: read its record and whole jar.
        const full = await this.#readFull(grant.sessionId);
        if (!full) return undefined;
        context = full.context;
        cookies = full.cookies;
      }
      session = host.adopt(this.#record(grant, context, cookies));
      if (!session) return undefined;
      this.#seen.set(grant.sessionId, cookies);
      this.#noteSynced(session);
      return session;
    }
    const wasSynced = this.#isSynced(session);
    const seen = this.#seen.get(grant.sessionId) ?? new Map<string, string>();
    if (grant.cookieMode === 'full') {
      const remote = fieldsOfFlat(grant.cookies.flat());
      mergeRemoteJar(session.cookieJar, remote, seen);
      this.#seen.set(grant.sessionId, remote);
    } else if (grant.cookieMode === 'delta') {
      const upserts = new Map<string, string>();
      const removed = new Map<string, string>();
      for (const [field, json] of grant.cookies) {
        if (json === '') {
          if (seen.has(field)) removed.set(field, seen.get(field) as string);
          seen.delete(field);
        } else {
          upserts.set(field, json);
          seen.set(field, json);
        }
      }
      // Puts the changed cookies, and removes those deleted elsewhere that this worker had seen.
      mergeRemoteJar(session.cookieJar, upserts, removed);
      this.#seen.set(grant.sessionId, seen);
    }
    // A jar that held what Redis held, merged with Redis's changes, holds what Redis holds now.
    if (wasSynced) this.#noteSynced(session);
    else this.#synced.delete(session.id);
    return session;
  }

  #isSynced(session: Session, revision = cookieJarRevision(session.cookieJar)): boolean {
    return revision !== undefined && this.#synced.get(session.id) === revision;
  }

  #noteSynced(session: Session, revision = cookieJarRevision(session.cookieJar)): void {
    if (revision === undefined) this.#synced.delete(session.id);
    else this.#synced.set(session.id, revision);
  }

  #record(grant: FleetGrant, context: string, cookies: CookieFields): PersistedSessionRecord {
    const fields = JSON.parse(context) as Record<string, unknown>;
    return {
      ...(fields as unknown as PersistedSessionRecord),
      id: grant.sessionId,
      usageCount: grant.state.u,
      errorScore: grant.state.e,
      blockedUntil: grant.state.b > 0 ? grant.state.b : null,
      retirementReason: null,
      cookieJar: serializedOfFields(cookies) as PersistedSessionRecord['cookieJar'],
    };
  }

  async #readFull(sessionId: string): Promise<{ context: string; cookies: CookieFields } | undefined> {
    const connection = this.#client.connection;
    const [tag] = [this.#client.keys.tag];
    const context = await connection.hget(`${tag}:rec`, sessionId);
    if (context === null) return undefined;
    const entries = await connection.zrangebylex(`${tag}:jlog`, `[${sessionId}\n`, `[${sessionId}\n\xff`);
    const fields = entries.map((entry) => entry.slice(sessionId.length + 14));
    const cookies: CookieFields = new Map();
    if (fields.length > 0) {
      const values = await connection.hmget(`${tag}:jar`, ...fields.map((field) => `${sessionId}\n${field}`));
      fields.forEach((field, index) => {
        const json = (values[index] ?? '').slice(13);
        if (json !== '') cookies.set(field, json);
      });
    }
    return { context, cookies };
  }

  /** Takes the next reserved use of a grant held here, for a request this turn (no round trip). */
  #use(held: HeldGrant): FleetUse {
    const { grant, session } = held;
    held.left -= 1;
    let released = false;
    return {
      session,
      get signal() {
        return grant.signal;
      },
      onLost: (listener) => grant.onLost(listener),
      release: (outcome: ReleaseOutcome) => {
        if (released) return;
        released = true;
        this.#endUse(held, outcome);
      },
    };
  }

  /** An idle grant this request may take: its session, or one it does not exclude, still live, lease still held. */
  #takeIdle(request: FleetUseRequest): HeldGrant | undefined {
    const idle = this.#idle;
    for (let index = 0; index < idle.length; index += 1) {
      const held = idle[index] as HeldGrant;
      const id = held.session.id;
      if (request.sessionId !== undefined ? id !== request.sessionId : request.exclude?.has(id)) continue;
      if (!this.#reusable(held)) continue;
      idle.splice(index, 1);
      return held;
    }
    return undefined;
  }

  /**
   * A use ended: with reserved uses left, a session still usable here and its lease held, the grant waits for the
   * next request of this turn; else (and at the turn's end) it is released with every use's outcome.
   */
  #endUse(held: HeldGrant, outcome: ReleaseOutcome): void {
    if (outcome === 'unused') held.left += 1;
    else held.outcomes.push(outcome);
    if (!this.#reusable(held)) {
      this.#releaseHeld(held);
      return;
    }
    this.#idle.push(held);
    this.#idleRelease ??= setImmediate(() => {
      this.#idleRelease = undefined;
      this.#releaseIdle();
    });
  }

  /** Whether a held grant can take another request here: uses left, lease held, session live and not cooling down. */
  #reusable(held: HeldGrant): boolean {
    const { session } = held;
    const until = session.blockedUntil?.getTime();
    return (
      held.left > 0 &&
      !this.#closing &&
      held.grant.lostBy === undefined &&
      USABLE_STATES.has(session.state) &&
      !(until !== undefined && until > Date.now())
    );
  }

  #releaseIdle(): void {
    clearImmediate(this.#idleRelease);
    this.#idleRelease = undefined;
    for (const held of this.#idle.splice(0)) this.#releaseHeld(held);
  }

  /** Ends a held grant in the fleet with the outcome of each use taken (none: given back unused). */
  #releaseHeld(held: HeldGrant): void {
    this.#release(held.session, held.grant, held.outcomes);
  }

  #release(session: Session, grant: FleetGrant, outcome: ReleaseOutcome | readonly ReleaseOutcome[]): void {
    const id = session.id;
    const revision = cookieJarRevision(session.cookieJar);
    const unchanged = this.#isSynced(session, revision);
    const current = unchanged
      ? (this.#seen.get(id) ?? new Map<string, string>())
      : fieldsOfSerialized(session.cookieJar.serializeSync());
    const { sets, dels } = unchanged ? { sets: [], dels: [] } : diffFields(this.#seen.get(id), current);
    const until = session.blockedUntil?.getTime();
    const written = this.#client
      .release(grant, {
        outcome,
        cookieSets: sets,
        cookieDels: dels,
        coolDownUntil: until !== undefined && until > Date.now() ? until : undefined,
      })
      .then((result) => {
        if (result.status === 'stale') return;
        if (result.status === 'ok') this.#stats.requests += usesMade(outcome);
        if (result.status === 'lost' && !result.resent) this.#stats.leasesExpired += 1;
        if (this.#seen.has(id) || result.status !== 'gone') {
          this.#seen.set(id, current);
          this.#noteSynced(session, revision);
        }
        const reason = result.retiredNow ?? result.retired;
        if (reason) this.#retireHere(id, reason);
      });
    this.#track(written);
  }

  #track(promise: Promise<unknown>): void {
    const tracked = promise.catch(() => undefined).finally(() => this.#pending.delete(tracked));
    this.#pending.add(tracked);
  }

  #heardRetired(id: string, reason: string): void {
    this.#stats.retiredByReason[reason] = (this.#stats.retiredByReason[reason] ?? 0) + 1;
    this.#retireHere(id, reason);
  }

  #retireHere(id: string, reason: string): void {
    const session = this.#host?.session(id);
    if (!session || session.state === 'retired') return;
    this.#retiredByFleet.add(id);
    this.#host?.retire(id, isRetirementReason(reason) ? reason : 'manual');
  }

  #lostState(previousGeneration: string, generation: string, leasesLost: string[]): void {
    const host = this.#host;
    const sessionsLost = [...this.#seen.keys()].filter((id) => host?.session(id));
    this.#seen.clear();
    this.#synced.clear();
    for (const id of sessionsLost) this.#retireHere(id, 'manual');
    this.#report('stateLost', { previousGeneration, generation, sessionsLost, leasesLost });
  }

  /** An event to this fleet's listeners and to its pool's. */
  #report<E extends keyof RedisFleetEvents>(event: E, ...args: Parameters<RedisFleetEvents[E]>): void {
    (this.emit as (name: E, ...rest: Parameters<RedisFleetEvents[E]>) => boolean)(event, ...args);
    this.#host?.emit(event, ...args);
  }
}
