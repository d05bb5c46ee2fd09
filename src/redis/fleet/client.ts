/**
 * `FleetClient`: one worker's end of the fleet protocol. One script call grants a lease (with the uses it reserves and
 * the cookie changes this worker has not seen) and ends the leases released since the last call (the outcome of each
 * use made, cookie delta, release): a grant per request costs one round trip. A release with no acquire after it goes
 * alone at the end of the event loop's turn. One call renews every lease this worker holds. Waiting requests wait on
 * this worker's own channel, which a release publishes to only when it freed something and this worker was the one
 * registered longest; a fallback poll covers a lost message.
 *
 * Faults: every command has a timeout (`commandTimeoutMs`); a timeout or a dropped connection emits
 * `connectionLost`, the next answer `connectionRestored`. A lease whose renewal did not get through before its
 * TTL ran out is lost here too (its `signal` aborts), whatever Redis later says. A Redis that answers with another
 * generation (it came back empty, or was reset) emits `generationLost` with what this worker lost; nothing of
 * the old generation is written to the new one.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'eventemitter3';
import type { ReleaseOutcome } from '../../../machines/session.machine.js';
import { RedisUnavailableError } from '../../errors.js';
import { connectionOptions, connectWithin, retryStrategy, subscribeAcrossReconnects } from '../connection.js';
import { Cluster, Redis } from '../ioredis.js';
import { redactRedisUrl } from '../options.js';
import { FleetCommandTimeoutError, FleetLeaseLostError } from './errors.js';
import { type FleetKeys, fleetKeys } from './keys.js';
import { defineFleetScripts, type FleetClientConnection, type FleetReply } from './scripts.js';

/** Where the fleet's Redis is. */
export interface FleetConnectionOptions {
  /** `redis://…` / `rediss://…` of a single node. */
  redisUrl?: string | undefined;
  /** Seed nodes of a Redis Cluster (used instead of `redisUrl`). */
  clusterNodes?: readonly { host: string; port: number }[] | undefined;
  /** Prefix naming the pool; its keys are `{<prefix without trailing ':'>}:…`. */
  keyPrefix: string;
  /** Lease time-to-live (Redis time), ms. */
  leaseTtlMs: number;
  /** How long any command may take before the connection counts as lost, ms. */
  commandTimeoutMs: number;
  /** How long the first connection may take, ms. */
  connectTimeoutMs: number;
  /** Extra ioredis options (TLS, auth); this library's connection settings win. */
  redisOptions?: Record<string, unknown> | undefined;
}

/** The state of a session in Redis, as a grant or release returns it. */
export interface FleetSessionState {
  /** Uses counted (released or lapsed). */
  u: number;
  /** Leases in flight. */
  f: number;
  /** Error score. */
  e: number;
  mu: number;
  me: number;
  /** expiresAt */
  x: number;
  /** blockedUntil (0 = none) */
  b: number;
  /** Cookie-jar version. */
  v: number;
  /** Retirement reason, '' while live. */
  r: string;
}

/** What a new session is created with, when the pool has room. */
export interface FleetNewSession {
  id: string;
  /** The session's context, as JSON (what other workers adopt it from). */
  record: string;
  maxUsageCount: number;
  maxErrorScore: number;
  expiresAt: number;
  blockedUntil: number;
  maxConcurrency: number;
  minDelayMs: number;
  errorScoreDecrement: number;
}

/** A lease granted by Redis. */
export interface FleetGrant {
  readonly sessionId: string;
  readonly token: string;
  readonly state: FleetSessionState;
  /** The session's context JSON, when this worker had not been granted it before. */
  readonly record: string | undefined;
  /** `full`: `cookies` is the whole jar; `delta`: changes since this worker's last view (`''` = deleted). */
  readonly cookieMode: 'none' | 'delta' | 'full';
  readonly cookies: readonly [field: string, json: string][];
  /** Whether this grant created the session. */
  readonly created: boolean;
  /** Uses the grant reserved (as many as asked for, at most those the session has left; one if it is paced). */
  readonly uses: number;
  /** Aborts when the lease is lost (not renewed within the TTL, or the generation changed); made when first read. */
  readonly signal: AbortSignal;
  /** Why the lease was lost, `undefined` while it holds. */
  readonly lostBy: FleetLeaseLostError | undefined;
  /** Calls `listener` when the lease is lost (at once if it already was). */
  onLost(listener: (error: FleetLeaseLostError) => void): void;
}

export interface FleetAcquireRequest {
  sessionId?: string | undefined;
  exclude?: ReadonlySet<string> | undefined;
  /** Builds a new session when the pool has room (called at most once per acquire). */
  newSession?: (() => Promise<FleetNewSession> | FleetNewSession) | undefined;
  /** Wait for a grant until this time (ms, local clock); no wait when absent. */
  deadline?: number | undefined;
  signal?: AbortSignal | undefined;
  /** Uses to reserve with the grant (at least 1, the default); a paced session reserves one. */
  uses?: number | undefined;
  /**
   * Create this session now (a pool's `addSession`), granted to this worker, instead of granting one: the reply
   * is the grant, `full` or `duplicate`.
   */
  add?: FleetNewSession | undefined;
}

export interface FleetReleaseRequest {
  /** How the use ended, or each use in order for a grant of several (`unused` ones gave their use back). */
  outcome: ReleaseOutcome | readonly ReleaseOutcome[];
  retireReason?: string | undefined;
  coolDownUntil?: number | undefined;
  cookieSets?: readonly [string, string][] | undefined;
  cookieDels?: readonly string[] | undefined;
}

export interface FleetReleaseResult {
  /** `ok`: released; `lost`: the lease had lapsed (its use was already counted); `gone`: no such session. */
  status: 'ok' | 'lost' | 'gone' | 'stale';
  /** The session's state after the release (parsed when read). */
  readonly state: FleetSessionState | undefined;
  /** Set when this release retired the session. */
  retiredNow: string | undefined;
  /** Why the session is retired, whoever retired it (`undefined` while it lives). */
  retired: string | undefined;
  /**
   * Whether the release had to be sent again: then `lost` may mean that the first send got through and its
   * answer was lost, not that the lease lapsed.
   */
  resent: boolean;
}

/** Why an acquire came back without a grant. */
export type FleetNoGrant =
  | { kind: 'timeout' }
  | { kind: 'gone'; sessionId: string }
  | { kind: 'closed' }
  | { kind: 'full' }
  | { kind: 'duplicate'; sessionId: string };

export interface GenerationLostEvent {
  previous: string;
  current: string;
  /** Leases this worker held in the lost generation (their signals have aborted). */
  leasesLost: string[];
}

export interface FleetClientEvents {
  connectionLost: (error: Error) => void;
  connectionRestored: () => void;
  generationLost: (event: GenerationLostEvent) => void;
  leaseLost: (sessionId: string, error: FleetLeaseLostError) => void;
  /** A session retired somewhere in the fleet (heard with the next grant's reply). */
  retired: (sessionId: string, reason: string) => void;
}

/** Round trips this client made, by script. */
export interface FleetClientCounters {
  roundTrips: number;
  acquires: number;
  releases: number;
  renewals: number;
  leasesGranted: number;
  leasesLost: number;
  wakeUps: number;
  commandTimeouts: number;
  /** Grants whose answers were lost, given back. */
  grantsGivenBack: number;
}

/** A lease this worker holds: the grant its holder reads, and what renewals and losses need. */
class HeldLease implements FleetGrant {
  readonly sessionId: string;
  readonly token: string;
  readonly member: string;
  readonly record: string | undefined;
  readonly cookieMode: FleetGrant['cookieMode'];
  readonly cookies: readonly [field: string, json: string][];
  readonly created: boolean;
  readonly uses: number;
  /** Local time by which a renewal must have been sent and answered, or the lease counts as lost. */
  deadline: number;
  lostBy: FleetLeaseLostError | undefined;
  readonly #stateJson: string;
  #state: FleetSessionState | undefined;
  /** Made only when the signal is read: most holders never read it. */
  #controller: AbortController | undefined;
  #lostListeners: ((error: FleetLeaseLostError) => void)[] | undefined;

  constructor(reply: FleetReply, token: string, deadline: number) {
    this.sessionId = reply[1] as string;
    this.token = token;
    this.member = `${this.sessionId}|${token}`;
    this.#stateJson = reply[2] as string;
    this.record = (reply[3] as string | null) ?? undefined;
    this.cookieMode = reply[4] as FleetGrant['cookieMode'];
    const flat = reply[5] as string[];
    const cookies: [string, string][] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) cookies.push([flat[i] as string, flat[i + 1] as string]);
    this.cookies = cookies;
    this.created = reply[8] === 1;
    this.uses = Number(reply[9] ?? 1);
    this.deadline = deadline;
  }

  /** Parsed when first read (only an adoption reads it). */
  get state(): FleetSessionState {
    this.#state ??= JSON.parse(this.#stateJson) as FleetSessionState;
    return this.#state;
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.lostBy) this.#controller.abort(this.lostBy);
    }
    return this.#controller.signal;
  }

  onLost(listener: (error: FleetLeaseLostError) => void): void {
    if (this.lostBy) listener(this.lostBy);
    else {
      this.#lostListeners ??= [];
      this.#lostListeners.push(listener);
    }
  }

  /** Marks the lease lost (once): its signal aborts and its listeners hear why. */
  lose(error: FleetLeaseLostError): void {
    if (this.lostBy) return;
    this.lostBy = error;
    this.#controller?.abort(error);
    for (const listener of this.#lostListeners ?? []) listener(error);
  }
}

interface Waiter {
  wake: () => void;
}

type ScriptArgs = (string | number)[];

/** A release's first send, waiting in the outbox for this worker's next acquire. */
interface QueuedRelease {
  /** RELEASE's ARGV (the keys are added when it is sent). */
  argv: ScriptArgs;
  settle: (error: Error | undefined, reply?: FleetReply) => void;
}

type ConnectionKind = 'redis' | 'cluster';

export class FleetClient extends EventEmitter<FleetClientEvents> {
  readonly workerId = randomUUID();
  readonly keys: FleetKeys;
  readonly options: FleetConnectionOptions;
  readonly counters: FleetClientCounters = {
    roundTrips: 0,
    acquires: 0,
    releases: 0,
    renewals: 0,
    leasesGranted: 0,
    leasesLost: 0,
    wakeUps: 0,
    commandTimeouts: 0,
    grantsGivenBack: 0,
  };
  #client: FleetClientConnection | undefined;
  #subscriber: Redis | Cluster | undefined;
  #generation = '';
  #retiredSeq = '0';
  #live = 0;
  #tokens = 0;
  #connected = true;
  #closed = false;
  #probe: NodeJS.Timeout | undefined;
  #renewTimer: NodeJS.Timeout | undefined;
  readonly #held = new Map<string, HeldLease>();
  /** Tokens of grants asked for whose answer never came: given back once Redis answers again. */
  readonly #abandoned = new Set<string>();
  #cancelling: Promise<void> | undefined;
  /** Commands sent and not answered yet, in the order sent (see `#watchCommands`). */
  readonly #awaiting = new Map<number, { name: string; sentAt: number; fail: (error: Error) => void }>();
  #calls = 0;
  #watchdog: NodeJS.Timeout | undefined;
  readonly #waiters: Waiter[] = [];
  /**
   * Releases not sent yet. No request waits on a release, so it waits for this worker's next acquire and goes in
   * the same script call (one round trip per request instead of two), or alone once this turn of the event loop
   * is over. An acquire never waits for anything.
   */
  readonly #outbox: QueuedRelease[] = [];
  #outboxFlush: NodeJS.Immediate | undefined;
  /**
   * Whether this worker may be registered as a waiter in Redis: while it is not, its scripts skip removing the
   * registration. Sends are numbered so that an answer to an older send does not clear a newer registration.
   */
  #registered = false;
  #sends = 0;
  #lastRegisteringSend = 0;

  constructor(options: FleetConnectionOptions) {
    super();
    this.options = options;
    this.keys = fleetKeys(options.keyPrefix);
  }

  get generation(): string {
    return this.#generation;
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** Live sessions in the fleet, as of the last reply. */
  get liveSessions(): number {
    return this.#live;
  }

  /** Leases this worker holds now. */
  get heldLeases(): number {
    return this.#held.size;
  }

  get connection(): FleetClientConnection {
    if (!this.#client) throw new RedisUnavailableError(this.#where(), 'the fleet client is not open');
    return this.#client;
  }

  /** Connects both connections (`RedisUnavailableError` if Redis cannot be reached) and joins the generation. */
  async open(): Promise<void> {
    const kind: ConnectionKind = this.options.clusterNodes ? 'cluster' : 'redis';
    this.#client = defineFleetScripts(await this.#connect(kind, 'cmd'));
    this.#subscriber = await this.#connect(kind, 'sub');
    this.#subscriber.on('message', (channel: string) => {
      if (channel === this.keys.channel(this.workerId)) this.#onWake();
    });
    await subscribeAcrossReconnects(this.#subscriber, this.keys.channel(this.workerId));
    const client = this.#client;
    client.on('close', () => this.#lost(new Error('connection closed')));
    client.on('ready', () => this.#restored());
    const [gen, rseq, live] = await this.#call('init', () =>
      client.fleetInit(...this.keys.all, randomUUID()),
    );
    this.#generation = gen;
    this.#retiredSeq = String(rseq);
    this.#live = Number(live);
    const period = Math.max(50, Math.floor(this.options.leaseTtlMs / 3));
    this.#renewTimer = setInterval(() => void this.renewAll().catch(() => undefined), period);
    this.#renewTimer.unref();
  }

  /**
   * Grants a lease, waiting (until `deadline`) while nothing can be granted. Resolves with the grant, or with why
   * there is none.
   */
  async acquire(request: FleetAcquireRequest): Promise<FleetGrant | FleetNoGrant> {
    let spare: FleetNewSession | undefined = request.add;
    let woken = false;
    if (request.sessionId?.includes('\0')) return { kind: 'gone', sessionId: request.sessionId };
    for (;;) {
      if (this.#closed) return { kind: 'closed' };
      request.signal?.throwIfAborted();
      const waits = request.deadline !== undefined && request.deadline > Date.now();
      if (!this.#connected) {
        // Every grant sent to a stalled Redis would be applied when it wakes, with nobody to receive it.
        if (!waits) return { kind: 'timeout' };
        await this.#pause(request, 100);
        continue;
      }
      const token = `${this.workerId}:${++this.#tokens}`;
      const args: ScriptArgs = [
        this.#generation,
        this.workerId,
        token,
        this.options.leaseTtlMs,
        this.#maxPoolSize,
        request.sessionId ?? '',
        this.#retiredSeq,
        request.add ? 'add' : waits ? '1' : '0',
      ];
      if (spare) {
        args.push(
          spare.id,
          spare.record,
          JSON.stringify({
            e: 0,
            mu: spare.maxUsageCount,
            me: spare.maxErrorScore,
            x: spare.expiresAt,
            b: spare.blockedUntil,
            c: spare.maxConcurrency,
            p: spare.minDelayMs,
            d: spare.errorScoreDecrement,
          }),
        );
      } else args.push('', '', '');
      const send = ++this.#sends;
      const mayRegister = waits && !request.add;
      args.push(this.#waiterFlag(), Math.max(1, Math.floor(request.uses ?? 1)));
      // An id holding a NUL names no fleet session (none can be made): it is left out, not sent.
      if (request.exclude) for (const id of request.exclude) if (!id.includes('\0')) args.push(id);
      let reply: FleetReply;
      try {
        this.counters.acquires += 1;
        reply = await this.#call('acquire', () => this.#send(args));
      } catch {
        // Redis is stalled or away. The grant may still be applied later: it is given back once Redis answers.
        // The request waits for Redis (bounded by the deadline) rather than fail.
        this.#abandoned.add(token);
        // Whether it registered this worker as a waiter is unknown: assume it did.
        if (mayRegister) this.#registeredBy(send);
        if (!waits) return { kind: 'timeout' };
        await this.#pause(request, 250);
        continue;
      }
      const kind = reply[0] as string;
      if (kind === 'gen') {
        await this.#generationChanged(String(reply[1] ?? ''));
        continue;
      }
      if (kind === 'ok') {
        // Only a grant unregisters (see ACQUIRE).
        this.#answered(send);
        this.#noteRetired(reply[7] as string[]);
        this.#live = Number(reply[6]);
        const grant = this.#grant(reply, token);
        // Woken by a release, this request may not have taken all that was freed: the next waiter tries too.
        if (woken) this.#wakeNextWaiter();
        return grant;
      }
      if (kind === 'room') {
        this.#live = Number(reply[1]);
        this.#noteRetired(reply[2] as string[]);
        if (!request.newSession) return { kind: 'timeout' };
        spare ??= await request.newSession();
        continue;
      }
      if (kind === 'gone') {
        this.#noteRetired(reply[2] as string[]);
        return { kind: 'gone', sessionId: request.sessionId ?? '' };
      }
      if (kind === 'full' || kind === 'dup') {
        this.#live = Number(reply[1]);
        this.#noteRetired(reply[2] as string[]);
        // A 'dup' after an attempt whose answer was lost may be that attempt's own creation: the session exists.
        return kind === 'full' ? { kind: 'full' } : { kind: 'duplicate', sessionId: request.add?.id ?? '' };
      }
      // wait
      if (mayRegister) this.#registeredBy(send);
      this.#live = Number(reply[2]);
      this.#noteRetired(reply[3] as string[]);
      if (!waits) return { kind: 'timeout' };
      const next = reply[1] === '' ? undefined : Number(reply[1]);
      // Redis time and local time are assumed close; the fallback poll bounds any skew.
      const fallback = Math.max(100, Math.floor(this.options.leaseTtlMs / 2));
      const pause = next === undefined ? fallback : Math.min(fallback, Math.max(1, next - Date.now()));
      await this.#waitForWake(request, pause);
      woken = true;
    }
  }

  /**
   * Ends a lease: outcome, cookie changes and release in one script call, sent with this worker's next acquire
   * (or alone at the end of the event loop's turn). A failed write frees nothing: it is sent again (a resend
   * finds the lease gone and changes no counter) until it gets through or the lease lapsed in Redis, where its
   * use is counted anyway.
   */
  async release(
    grant: Pick<FleetGrant, 'sessionId' | 'token'>,
    request: FleetReleaseRequest,
  ): Promise<FleetReleaseResult> {
    const held = this.#held.get(grant.token);
    this.#held.delete(grant.token);
    const send = ++this.#sends;
    const args: ScriptArgs = [
      this.#generation,
      this.workerId,
      grant.sessionId,
      grant.token,
      outcomeLetters(request.outcome),
      request.retireReason ?? '',
      request.coolDownUntil ?? '',
      this.#waiterFlag(),
    ];
    const sets = request.cookieSets ?? [];
    args.push(sets.length);
    for (const [field, json] of sets) args.push(field, json);
    const dels = request.cookieDels ?? [];
    args.push(dels.length, ...dels);
    const generation = this.#generation;
    const giveUpAt = Date.now() + 4 * this.options.leaseTtlMs;
    for (let attempt = 0; ; attempt += 1) {
      if (this.#generation !== generation || this.#closed) return STALE;
      try {
        this.counters.releases += 1;
        // The first send waits in the outbox (no round trip of its own when an acquire follows); a resend goes now.
        const reply =
          attempt === 0
            ? await this.#call('release', () => this.#queueRelease(args), false)
            : await this.#call('release', () =>
                this.connection.fleetRelease(...this.keys.all, packArgs(args)),
              );
        if (attempt === 0 && reply[0] !== 'gen') this.#answered(send);
        if (reply[0] === 'gen') {
          // The lease is lost with its generation: it is reported among the generation's lost leases.
          if (held) this.#held.set(held.token, held);
          await this.#generationChanged(String(reply[1] ?? ''));
          return STALE;
        }
        const status = reply[0] as 'ok' | 'lost' | 'gone';
        if (status === 'lost' && attempt === 0 && held && held.lostBy === undefined)
          this.#loseLease(held, 'it lapsed in Redis before its release');
        if (reply[4] === 1 && this.#waiters.length > 0) this.#wakeNextWaiter();
        return releaseResult(status, reply, attempt > 0);
      } catch (error) {
        if (Date.now() > giveUpAt) throw error;
        // Sent again only once Redis answers: every copy sent to a stalled Redis would run when it wakes.
        await sleep(Math.min(1000, 50 * 2 ** attempt));
        while (!this.#connected && !this.#closed && Date.now() <= giveUpAt) await sleep(50);
      }
    }
  }

  /** Renews every held lease in one round trip; a lease past its local deadline is lost whatever Redis says. */
  async renewAll(): Promise<void> {
    if (this.#abandoned.size > 0 && this.#connected) void this.#cancelAbandoned();
    if (this.#closed || (this.#held.size === 0 && this.#waiters.length === 0)) return;
    const now = Date.now();
    for (const held of this.#held.values()) {
      if (now > held.deadline)
        this.#loseLease(held, `no renewal reached Redis within leaseTtlMs (${this.options.leaseTtlMs} ms)`);
    }
    const leases = [...this.#held.values()];
    const sentAt = Date.now();
    const waiting = this.#waiters.length > 0;
    if (waiting) this.#registeredBy(++this.#sends);
    try {
      this.counters.renewals += 1;
      const reply = await this.#call('renew', () =>
        this.connection.fleetRenew(
          ...this.keys.all,
          this.#generation,
          this.workerId,
          this.options.leaseTtlMs,
          waiting ? '1' : '0',
          ...leases.map((lease) => lease.member),
        ),
      );
      if (reply[0] === 'gen') {
        await this.#generationChanged(String(reply[1] ?? ''));
        return;
      }
      const lost = new Set(reply[1] as string[]);
      for (const lease of leases) {
        if (lost.has(lease.member)) this.#loseLease(lease, 'it lapsed in Redis');
        // The TTL runs from when Redis renewed it, which is no earlier than when the renewal was sent.
        else lease.deadline = sentAt + this.options.leaseTtlMs;
      }
    } catch {
      // Not renewed: each lease's deadline stands, and the next tick judges it.
    }
  }

  /** Deletes every key of this pool (and of no other). Other workers see a new generation. */
  async reset(): Promise<void> {
    await this.#call('reset', () => this.connection.fleetReset(...this.keys.all));
  }

  /** The fleet's counters, read from Redis (one round trip). */
  async fleetCounters(): Promise<Record<string, number>> {
    const meta = (await this.#call('stats', () => this.connection.hgetall(this.keys.meta))) as Record<
      string,
      string
    >;
    const counters: Record<string, number> = {};
    for (const [name, value] of Object.entries(meta)) if (name !== 'gen') counters[name] = Number(value);
    return counters;
  }

  /** Sets the pool size used by grants (the pool's `maxPoolSize`). */
  set maxPoolSize(value: number) {
    this.#maxPoolSize = value;
  }
  #maxPoolSize = 1000;

  /** Stops renewing, wakes waiters (they return `closed`), and disconnects. Held leases are left to lapse. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#renewTimer);
    clearInterval(this.#watchdog);
    this.#watchdog = undefined;
    clearTimeout(this.#probe);
    for (const waiter of this.#waiters.splice(0)) waiter.wake();
    // Releases still in the outbox go before the connection closes (QUIT waits for their answers).
    clearImmediate(this.#outboxFlush);
    this.#outboxFlush = undefined;
    if (this.#outbox.length > 0) void this.#send(undefined).catch(() => undefined);
    const client = this.#client;
    const subscriber = this.#subscriber;
    this.#client = undefined;
    this.#subscriber = undefined;
    await Promise.all(
      [client, subscriber].map((connection) => connection?.quit().catch(() => connection.disconnect())),
    );
  }

  /**
   * The waiter flag of an acquire or release: '1' this worker has requests waiting (stay registered), '0' none
   * (unregister), '-' none and not registered (nothing to remove).
   */
  #waiterFlag(): '1' | '0' | '-' {
    if (this.#waiters.length > 0) return '1';
    return this.#registered ? '0' : '-';
  }

  /** Send number `send` registered this worker as a waiter (or may have). */
  #registeredBy(send: number): void {
    this.#registered = true;
    this.#lastRegisteringSend = Math.max(this.#lastRegisteringSend, send);
  }

  /** A send was answered: with nothing waiting and no registering send after it, the registration is gone. */
  #answered(send: number): void {
    if (this.#registered && this.#waiters.length === 0 && send > this.#lastRegisteringSend)
      this.#registered = false;
  }

  #queueRelease(argv: ScriptArgs): Promise<FleetReply> {
    return new Promise((resolve, reject) => {
      this.#outbox.push({ argv, settle: (error, reply) => (error ? reject(error) : resolve(reply ?? [])) });
      this.#outboxFlush ??= setImmediate(() => {
        this.#outboxFlush = undefined;
        if (this.#outbox.length > 0) void this.#send(undefined).catch(() => undefined);
      });
    });
  }

  /**
   * Sends the releases in the outbox and then the acquire (ACQUIRE's ARGV), if any, in one script call; resolves
   * with the acquire's reply. Each release's reply settles its own send.
   */
  #send(acquire: ScriptArgs | undefined): Promise<FleetReply> {
    const releases = this.#outbox.splice(0);
    const connection = this.#client;
    if (!connection) {
      const error = new RedisUnavailableError(this.#where(), 'the fleet client is closed');
      for (const release of releases) release.settle(error);
      return Promise.reject(error);
    }
    if (releases.length === 0) {
      return acquire ? connection.fleetAcquire(...this.keys.all, packArgs(acquire)) : Promise.resolve([]);
    }
    if (!acquire) this.counters.roundTrips += 1;
    const args: ScriptArgs = [releases.length];
    for (const release of releases) args.push(release.argv.length, ...release.argv);
    if (acquire) args.push(...acquire);
    const replies = connection.fleetExchange(...this.keys.all, packArgs(args));
    replies.then(
      (all) => {
        for (const [index, release] of releases.entries()) release.settle(undefined, all[index + 1]);
      },
      (error) => {
        for (const release of releases) release.settle(error);
      },
    );
    return replies.then((all) => all[0]);
  }

  /** Gives back the grants whose answers were lost (one round trip, after a fault only). */
  #cancelAbandoned(): Promise<void> {
    this.#cancelling ??= (async () => {
      const tokens = [...this.#abandoned];
      if (tokens.length === 0 || this.#closed) return;
      try {
        const reply = await this.#call('cancel', () =>
          this.connection.fleetCancel(...this.keys.all, this.#generation, this.workerId, ...tokens),
        );
        // In another generation, nothing of the old one is left to give back.
        for (const token of tokens) this.#abandoned.delete(token);
        if (reply[0] === 'ok' && Number(reply[1]) > 0) this.counters.grantsGivenBack += Number(reply[1]);
      } catch {
        // Tried again on the next renewal tick.
      }
    })().finally(() => {
      this.#cancelling = undefined;
    });
    return this.#cancelling;
  }

  #grant(reply: FleetReply, token: string): FleetGrant {
    const held = new HeldLease(reply, token, Date.now() + this.options.leaseTtlMs);
    this.#held.set(token, held);
    this.counters.leasesGranted += 1;
    return held;
  }

  #loseLease(held: HeldLease, detail: string): void {
    this.#held.delete(held.token);
    if (held.lostBy) return;
    const error = new FleetLeaseLostError(held.sessionId, detail);
    held.lose(error);
    this.counters.leasesLost += 1;
    this.emit('leaseLost', held.sessionId, error);
  }

  /** Retirements after the last one heard (replies to concurrent requests repeat the same ones). */
  #noteRetired(flat: string[] | undefined): void {
    if (!flat) return;
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const seq = Number(flat[i + 1]);
      if (!(seq > Number(this.#retiredSeq))) continue;
      const member = flat[i] as string;
      const cut = member.lastIndexOf('|');
      this.#retiredSeq = String(seq);
      this.emit('retired', member.slice(0, cut), member.slice(cut + 1));
    }
  }

  async #generationChanged(seen: string): Promise<void> {
    const previous = this.#generation;
    if (seen !== '' && seen !== previous) {
      this.#adopt(previous, seen, '0');
      return;
    }
    // No generation at all: Redis came back empty (or the pool was reset). Start (or join) a new one.
    const [gen, rseq] = await this.#call('init', () =>
      this.connection.fleetInit(...this.keys.all, randomUUID()),
    );
    if (gen !== previous) this.#adopt(previous, gen, String(rseq));
  }

  #adopt(previous: string, current: string, rseq: string): void {
    if (this.#generation !== previous) return; // another call adopted it already
    this.#generation = current;
    this.#retiredSeq = rseq;
    const leasesLost = [...this.#held.values()].map((lease) => lease.sessionId);
    for (const lease of [...this.#held.values()])
      this.#loseLease(lease, "Redis lost the pool's state (new generation)");
    this.emit('generationLost', { previous, current, leasesLost });
  }

  #waitForWake(request: FleetAcquireRequest, pauseMs: number): Promise<void> {
    const left = (request.deadline ?? 0) - Date.now();
    return new Promise<void>((resolve) => {
      const waiter: Waiter = {
        wake: () => {
          clearTimeout(timer);
          request.signal?.removeEventListener('abort', waiter.wake);
          const index = this.#waiters.indexOf(waiter);
          if (index !== -1) this.#waiters.splice(index, 1);
          resolve();
        },
      };
      const timer = setTimeout(waiter.wake, Math.max(0, Math.min(pauseMs, left)));
      request.signal?.addEventListener('abort', waiter.wake, { once: true });
      this.#waiters.push(waiter);
    });
  }

  #pause(request: FleetAcquireRequest, ms: number): Promise<void> {
    return this.#waitForWake(request, ms);
  }

  #onWake(): void {
    this.counters.wakeUps += 1;
    this.#wakeNextWaiter();
  }

  #wakeNextWaiter(): void {
    this.#waiters[0]?.wake();
  }

  /** Runs one command under the command timeout; `ownTrip`: it is a round trip of its own (counted). */
  async #call<T>(name: string, run: () => Promise<T>, ownTrip = true): Promise<T> {
    if (ownTrip) this.counters.roundTrips += 1;
    const id = ++this.#calls;
    try {
      const result = await new Promise<T>((resolve, reject) => {
        this.#awaiting.set(id, { name, sentAt: Date.now(), fail: reject });
        this.#watchCommands();
        run().then(resolve, reject);
      });
      this.#restored();
      return result;
    } catch (error) {
      if (error instanceof FleetCommandTimeoutError) {
        this.counters.commandTimeouts += 1;
        this.#lost(error);
      }
      throw error;
    } finally {
      this.#awaiting.delete(id);
    }
  }

  /**
   * One timer for every command's timeout (a timer per command costs more than the command's own work): it runs
   * while commands await their answers and fails each one older than `commandTimeoutMs`, within a quarter of it.
   */
  #watchCommands(): void {
    if (this.#watchdog) return;
    const timeoutMs = this.options.commandTimeoutMs;
    this.#watchdog = setInterval(
      () => {
        const now = Date.now();
        // Oldest first (a Map keeps insertion order): the scan stops at the first command still in time.
        for (const [id, command] of this.#awaiting) {
          if (now - command.sentAt < timeoutMs) break;
          this.#awaiting.delete(id);
          command.fail(new FleetCommandTimeoutError(command.name, timeoutMs));
        }
        if (this.#awaiting.size === 0) {
          clearInterval(this.#watchdog);
          this.#watchdog = undefined;
        }
      },
      Math.max(5, Math.floor(timeoutMs / 4)),
    );
    this.#watchdog.unref();
  }

  #lost(error: Error): void {
    if (!this.#connected || this.#closed) return;
    this.#connected = false;
    this.emit('connectionLost', error);
    this.#probeUntilBack();
  }

  /** While the connection counts as lost, a PING every so often finds out when Redis answers again. */
  #probeUntilBack(): void {
    clearTimeout(this.#probe);
    this.#probe = setTimeout(
      () => {
        if (this.#connected || this.#closed || !this.#client) return;
        void this.#call('ping', () => (this.#client as FleetClientConnection).ping()).catch(() =>
          this.#probeUntilBack(),
        );
      },
      Math.min(500, this.options.commandTimeoutMs),
    );
    this.#probe.unref();
  }

  #restored(): void {
    if (this.#connected || this.#closed) return;
    this.#connected = true;
    clearTimeout(this.#probe);
    void this.#cancelAbandoned();
    this.emit('connectionRestored');
    // Waiters may have missed a wake-up while Redis was away.
    this.#wakeNextWaiter();
  }

  #where(): string {
    return this.options.clusterNodes
      ? `cluster ${this.options.clusterNodes.map((node) => `${node.host}:${node.port}`).join(',')}`
      : redactRedisUrl(this.options.redisUrl ?? '');
  }

  async #connect(kind: ConnectionKind, role: 'cmd' | 'sub'): Promise<Redis | Cluster> {
    const base = {
      ...connectionOptions(
        this.options.redisOptions ?? {},
        `session-supervisor:fleet:${this.workerId}:${role}`,
        this.options.connectTimeoutMs,
      ),
      // A subscriber resubscribes through subscribeAcrossReconnects.
      autoResubscribe: role !== 'sub',
    };
    const connection =
      kind === 'cluster'
        ? new Cluster(
            (this.options.clusterNodes ?? []).map((node) => ({ host: node.host, port: node.port })),
            {
              redisOptions: base,
              lazyConnect: true,
              clusterRetryStrategy: retryStrategy,
            },
          )
        : new Redis(this.options.redisUrl ?? 'redis://127.0.0.1:6379/0', base);
    await connectWithin(connection, this.options.connectTimeoutMs, this.#where());
    return connection;
  }
}

/**
 * The hot scripts' arguments as one NUL-separated string (one argument costs the client and Redis far less than
 * dozens). No argument holds a NUL: session ids are checked for one, a jar refuses control characters in cookie
 * names and paths, and JSON escapes them.
 */
function packArgs(args: ScriptArgs): string {
  return args.join('\0');
}

const OUTCOME_LETTERS: Record<ReleaseOutcome, string> = { good: 'g', bad: 'b', aborted: 'a', unused: '' };

/** RELEASE's outcomes argument: one letter per use made, in order (an unused one made none). */
function outcomeLetters(outcome: ReleaseOutcome | readonly ReleaseOutcome[]): string {
  if (typeof outcome === 'string') return OUTCOME_LETTERS[outcome] ?? '';
  let letters = '';
  for (const each of outcome) letters += OUTCOME_LETTERS[each] ?? '';
  return letters;
}

/** Uses a release's outcomes say were made (each may have sent a request): all but the `unused` ones. */
export function usesMade(outcome: ReleaseOutcome | readonly ReleaseOutcome[]): number {
  return outcomeLetters(outcome).length;
}

/** A release whose generation is gone: nothing of it was applied (shared, so frozen). */
const STALE: FleetReleaseResult = Object.freeze({
  status: 'stale',
  state: undefined,
  retiredNow: undefined,
  retired: undefined,
  resent: false,
});

/** A release's reply read: the state JSON is parsed only if read (the pool reads only the retirement). */
function releaseResult(
  status: FleetReleaseResult['status'],
  reply: FleetReply,
  resent: boolean,
): FleetReleaseResult {
  const json = reply[1] as string;
  let state: FleetSessionState | undefined;
  return {
    status,
    get state() {
      if (json && !state) state = JSON.parse(json) as FleetSessionState;
      return state;
    },
    retiredNow: (reply[2] as string) || undefined,
    retired: (reply[5] as string) || undefined,
    resent,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
