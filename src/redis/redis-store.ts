/**
 * `RedisSessionStore`: the `SessionStore` of a pool whose state lives in Redis, shared by every worker of a
 * crawl. Each session is its own hash and each cookie its own field, and every write is a Lua script, so two
 * workers writing the same session at once lose nothing:
 *
 * - Counters are sent as this store's own contribution (what this process added to `usageCount` and
 *   `errorScore` since it loaded the session), and Redis adds the difference to what it last received from this
 *   store. Workers' contributions add up; a write that is retried or resent after a reconnect counts once.
 * - Cookies are sent as the fields that changed since what this store last saw in Redis.
 * - Retirement is a flag that only one write can flip; that write publishes it to every worker.
 *
 * Used alone (`new SessionPool({ store: new RedisSessionStore(...) })`) it persists one pool like the file store,
 * without a lock: several pools may share it. `createSharedPool()` adds leases and mirroring on top.
 */
import { randomUUID } from 'node:crypto';
import type { SessionContext } from '../../machines/session.machine.js';
import { CorruptStateError } from '../errors.js';
import {
  type PersistedPoolDocument,
  type PersistedSessionRecord,
  type SessionStore,
  STATE_FORMAT,
  STATE_VERSION,
  type StoreWriteBatch,
} from '../stores/types.js';
import { connectRedis } from './connection.js';
import { FleetQueries } from './fleet-queries.js';
import { type CookieFields, diffFields, fieldsOfFlat, fieldsOfSerialized } from './jar-sync.js';
import { deleteKeys, setAsideKeys } from './keyspace.js';
import {
  type RedisConnectionOptions,
  type ResolvedRedisConnection,
  resolveRedisConnection,
} from './options.js';
import { contextFields, decodeRecord } from './records.js';
import type { ScriptedRedis, UpsertReply } from './scripts.js';
import { SessionTracking } from './tracking.js';

/** Options of a `RedisSessionStore`: where Redis is and the key prefix of the pool. */
export type RedisSessionStoreOptions = RedisConnectionOptions;

/** A lease granted by Redis, with the session's cookies when they changed since this store last saw them. */
export interface LeaseGrant {
  sessionId: string;
  /** Redis's cookie fields of the session, when they differ from what this store last saw. */
  remoteJar: CookieFields | undefined;
  jarVersion: string;
}

/** A message on the pool's channel. */
export interface PoolMessage {
  type: 'created' | 'retired' | 'released';
  id: string;
  reason?: string;
  /** `storeId` of the store that caused it. */
  origin: string;
}

export class RedisSessionStore implements SessionStore {
  readonly location: string;
  /**
   * Identifies this store instance (one per process and pool) in Redis: its contributions and its messages.
   * Used by the deprecated `SharedSessionPool`.
   *
   * @internal
   */
  readonly storeId = randomUUID();
  /** @internal Used by the deprecated `SharedSessionPool`. */
  readonly config: ResolvedRedisConnection;
  /**
   * Called when a write finds (or makes) the session retired in Redis. Used by the deprecated `SharedSessionPool`.
   *
   * @internal
   */
  onRetiredInRedis: ((sessionId: string, reason: string) => void) | undefined;
  #client: ScriptedRedis | undefined;
  #opening: Promise<ScriptedRedis> | undefined;
  readonly #tracking = new SessionTracking();

  constructor(options: RedisSessionStoreOptions = {}) {
    this.config = resolveRedisConnection(options as Record<string, unknown>);
    this.location = `${this.config.redactedUrl}#${this.config.keyPrefix}`;
  }

  /**
   * Read-only queries about the fleet (live sessions, retirements, Redis time).
   * Used by the deprecated `SharedSessionPool`.
   *
   * @internal
   */
  readonly fleet = new FleetQueries(
    () => this.client,
    () => this.keyPrefix,
  );

  get keyPrefix(): string {
    return this.config.keyPrefix;
  }

  /**
   * The command connection (after `open()`). Used by the deprecated `SharedSessionPool`.
   *
   * @internal
   */
  get client(): ScriptedRedis {
    if (!this.#client) throw new CorruptStateError(this.location, 'the store is not open');
    return this.#client;
  }

  /** Connects; throws `RedisUnavailableError` when Redis cannot be reached. Shared: takes no lock. */
  async open(): Promise<void> {
    this.#opening ??= connectRedis(this.config, `session-supervisor:${this.storeId}`).catch((error) => {
      this.#opening = undefined;
      throw error;
    });
    this.#client = await this.#opening;
  }

  async load(): Promise<PersistedPoolDocument | null> {
    const client = this.client;
    const P = this.keyPrefix;
    const [ids, meta] = await Promise.all([client.smembers(`${P}live`), client.hgetall(`${P}meta`)]);
    if (ids.length === 0 && Object.keys(meta).length === 0) return null;
    const records = await this.#readRecords(ids);
    return {
      format: STATE_FORMAT,
      version: STATE_VERSION,
      savedAt: Date.now(),
      pool: { createdCount: Number(meta.createdCount ?? 0), retiredCount: Number(meta.retiredCount ?? 0) },
      sessions: records.filter((record) => record.retirementReason === null),
    };
  }

  async write(batch: StoreWriteBatch): Promise<void> {
    const pipeline = this.client.pipeline() as unknown as {
      ssUpsert(...a: unknown[]): void;
      exec(): Promise<[Error | null, unknown][] | null>;
    };
    const after: Array<(reply: UpsertReply) => void> = [];
    for (const [id, json] of batch.upserts) {
      const record = JSON.parse(json) as PersistedSessionRecord;
      const fields = fieldsOfSerialized(record.cookieJar);
      const { sets, dels } = diffFields(this.#tracking.seen(id), fields);
      pipeline.ssUpsert(...this.#upsertArgs(record, '', sets, dels));
      after.push((reply) => {
        this.#tracking.setSeen(id, fields);
        this.#tracking.wrote(id, reply[4], reply[7] === 1);
        if (reply[5] === 1) this.onRetiredInRedis?.(id, reply[6]);
      });
    }
    for (const id of batch.deletes) {
      const note = this.#tracking.retirementOf(id);
      const record = note?.context ?? this.#tracking.lastKnown(id);
      if (!record) continue;
      pipeline.ssUpsert(...this.#upsertArgs(record, note?.reason ?? 'manual', [], []));
      after.push(() => this.#tracking.forget(id));
    }
    if (after.length === 0) return;
    const results = (await pipeline.exec()) ?? [];
    let failure: Error | undefined;
    results.forEach(([error, reply], index) => {
      if (error) failure ??= error;
      else after[index]?.(reply as UpsertReply);
    });
    if (failure) throw failure;
  }

  /**
   * Records why a session retired (and its final counters), for the write that deletes it.
   * Used by the deprecated `SharedSessionPool`.
   *
   * @internal
   */
  noteRetirement(sessionId: string, reason: string, context: SessionContext): void {
    this.#tracking.noteRetirement(sessionId, reason, context);
  }

  /**
   * Creates a session in Redis if the fleet has fewer than `maxPoolSize` live sessions. Returns false when full.
   *
   * @internal
   */
  async createSession(record: PersistedSessionRecord, maxPoolSize: number): Promise<boolean> {
    const reply = await this.client.ssCreate(
      this.keyPrefix,
      record.id,
      JSON.stringify(contextFields(record)),
      record.maxUsageCount,
      record.maxErrorScore,
      record.expiresAt,
      record.blockedUntil ?? '',
      maxPoolSize,
      this.storeId,
    );
    if (reply === 0) return false;
    this.#tracking.created(record.id, { usage: record.usageCount, score: record.errorScore });
    return true;
  }

  /**
   * A session's record as Redis holds it (a retired one has its `retirementReason`), or undefined.
   * Used by the deprecated `SharedSessionPool`.
   *
   * @internal
   */
  async fetchRecord(sessionId: string): Promise<PersistedSessionRecord | undefined> {
    const [record] = await this.#readRecords([sessionId]);
    return record;
  }

  /**
   * Records of sessions about to be adopted by this worker (missing ids are skipped). Counting of this store's
   * contributions restarts from the values returned.
   *
   * @internal
   */
  fetchRecords(sessionIds: readonly string[]): Promise<PersistedSessionRecord[]> {
    return this.#readRecords(sessionIds);
  }

  /**
   * Tries to lease one of `sessionIds` (in order). Used by the deprecated `SharedSessionPool`.
   *
   * @internal
   */
  async lease(
    sessionIds: readonly string[],
    token: string,
    ttlMs: number,
    maxConcurrency: number,
  ): Promise<LeaseGrant | undefined> {
    const args: (string | number)[] = [this.keyPrefix, token, ttlMs, maxConcurrency];
    for (const id of sessionIds) args.push(id, this.#tracking.jarVersion(id) ?? '-1');
    const reply = await this.client.ssLease(...args);
    if (!reply) return undefined;
    const [sessionId, jarVersion, flat] = reply;
    const changed = this.#tracking.jarVersion(sessionId) !== jarVersion;
    return { sessionId, jarVersion, remoteJar: changed ? fieldsOfFlat(flat) : undefined };
  }

  /**
   * What this store last saw of a session's jar in Redis. Used by the deprecated `SharedSessionPool`.
   *
   * @internal
   */
  seenJar(sessionId: string): CookieFields | undefined {
    return this.#tracking.seen(sessionId);
  }

  /**
   * Records that the local jar now holds Redis's version `jarVersion` (after a merge).
   * Used by the deprecated `SharedSessionPool`.
   *
   * @internal
   */
  markJarSeen(sessionId: string, fields: CookieFields, jarVersion: string): void {
    this.#tracking.setSeen(sessionId, fields);
    this.#tracking.setJarVersion(sessionId, jarVersion);
  }

  /** @internal Used by the deprecated `SharedSessionPool`. */
  renewLease(sessionId: string, token: string, ttlMs: number): Promise<number> {
    return this.client.ssRenew(this.keyPrefix, sessionId, token, ttlMs);
  }

  /** @internal Used by the deprecated `SharedSessionPool`. */
  releaseLease(sessionId: string, token: string): Promise<number> {
    return this.client.ssRelease(this.keyPrefix, sessionId, token, this.storeId);
  }

  /** Moves every key of the pool under `<prefix>aside-<time>-<reason>:` (never deletes). */
  async setAside(reason: string): Promise<string | undefined> {
    const aside = await setAsideKeys(this.client, this.keyPrefix, reason);
    return aside === undefined ? undefined : `${this.location} → ${aside}`;
  }

  /** Deletes every key of the pool (set-aside content is kept). */
  async reset(): Promise<void> {
    await deleteKeys(this.client, this.keyPrefix);
    this.#tracking.clear();
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    this.#opening = undefined;
    if (client) await client.quit().catch(() => client.disconnect());
  }

  #upsertArgs(
    record: Pick<PersistedSessionRecord, 'id' | 'usageCount' | 'errorScore'> &
      Partial<Pick<PersistedSessionRecord, 'maxUsageCount' | 'maxErrorScore' | 'expiresAt' | 'blockedUntil'>>,
    reason: string,
    sets: [string, string][],
    dels: string[],
  ): (string | number)[] {
    const sent = this.#tracking.contribution(record.id, record.usageCount, record.errorScore);
    const args: (string | number)[] = [
      this.keyPrefix,
      record.id,
      this.storeId,
      'maxUsageCount' in record ? JSON.stringify(contextFields(record as PersistedSessionRecord)) : '',
      sent.usage,
      sent.score,
      record.maxUsageCount ?? '',
      record.maxErrorScore ?? '',
      record.expiresAt ?? '',
      record.blockedUntil ?? '',
      reason,
      this.config.tombstoneTtlSecs,
      sets.length,
    ];
    for (const [field, json] of sets) args.push(field, json);
    args.push(dels.length, ...dels);
    return args;
  }

  async #readRecords(ids: readonly string[]): Promise<PersistedSessionRecord[]> {
    const P = this.keyPrefix;
    const pipeline = this.client.pipeline();
    for (const id of ids) pipeline.hgetall(`${P}s:${id}`).hgetall(`${P}j:${id}`);
    const results = ids.length === 0 ? [] : ((await pipeline.exec()) ?? []);
    const records: PersistedSessionRecord[] = [];
    ids.forEach((id, index) => {
      const [hashError, hash] = results[index * 2] ?? [];
      const [jarError, jar] = results[index * 2 + 1] ?? [];
      if (hashError || jarError) throw hashError ?? jarError;
      const fields = hash as Record<string, string>;
      if (!fields || fields.rec === undefined) return;
      const cookies = fieldsOfFlat(Object.entries(jar as Record<string, string>).flat());
      const record = decodeRecord(id, fields, cookies, this.location, index);
      // Redis's totals already include what this store contributed before (a session adopted again).
      const mine = {
        usage: Number(fields[`cu:${this.storeId}`] ?? 0),
        score: Number(fields[`ce:${this.storeId}`] ?? 0),
      };
      this.#tracking.loaded(
        id,
        { usage: record.usageCount, score: record.errorScore },
        mine,
        cookies,
        fields.jv ?? '0',
      );
      records.push(record);
    });
    return records;
  }
}
