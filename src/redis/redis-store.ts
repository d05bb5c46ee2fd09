/**
 * `RedisSessionStore`: a `SessionStore` that keeps a pool's state in Redis instead of a file. Each session is its
 * own hash and each cookie its own field, and every write is a Lua script, so two processes writing the same
 * session at once lose nothing:
 *
 * - Counters are sent as this store's own contribution (what this process added to `usageCount` and
 *   `errorScore` since it loaded the session), and Redis adds the difference to what it last received from this
 *   store. Contributions of several processes add up; a write that is retried or resent after a reconnect counts
 *   once.
 * - Cookies are sent as the fields that changed since what this store last saw in Redis.
 * - Retirement is a flag that only one write can flip.
 *
 * It persists (`new SessionPool({ store: new RedisSessionStore(...) })`) like the file store, without a lock.
 * Sharing sessions between live worker processes, with uses reserved fleet-wide, is `redisFleet()`'s job.
 */
import { randomUUID } from 'node:crypto';
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
import { diffFields, fieldsOfFlat, fieldsOfSerialized } from './jar-sync.js';
import { deleteKeys, setAsideKeys } from './keyspace.js';
import {
  type RedisConnectionOptions,
  type ResolvedRedisConnection,
  resolveRedisConnection,
} from './options.js';
import { contextFields, decodeRecord } from './records.js';
import type { ScriptedRedis } from './scripts.js';
import { SessionTracking } from './tracking.js';

/** Options of a `RedisSessionStore`: where Redis is and the key prefix of the pool. */
export type RedisSessionStoreOptions = RedisConnectionOptions;

export class RedisSessionStore implements SessionStore {
  readonly location: string;
  /** Identifies this store instance in Redis: the counters it contributed (`cu:<id>`, `ce:<id>` fields). */
  readonly #storeId = randomUUID();
  readonly #config: ResolvedRedisConnection;
  #client: ScriptedRedis | undefined;
  #opening: Promise<ScriptedRedis> | undefined;
  readonly #tracking = new SessionTracking();

  /** Validates the options (`InvalidOptionError` naming the field); connects on `open()`. */
  constructor(options: RedisSessionStoreOptions = {}) {
    this.#config = resolveRedisConnection(options as Record<string, unknown>);
    this.location = `${this.#config.redactedUrl}#${this.#config.keyPrefix}`;
  }

  get keyPrefix(): string {
    return this.#config.keyPrefix;
  }

  get #connection(): ScriptedRedis {
    if (!this.#client) throw new CorruptStateError(this.location, 'the store is not open');
    return this.#client;
  }

  /** Connects; throws `RedisUnavailableError` when Redis cannot be reached. Shared: takes no lock. */
  async open(): Promise<void> {
    this.#opening ??= connectRedis(this.#config, `session-supervisor:${this.#storeId}`).catch((error) => {
      this.#opening = undefined;
      throw error;
    });
    this.#client = await this.#opening;
  }

  async load(): Promise<PersistedPoolDocument | null> {
    const client = this.#connection;
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
    const pipeline = this.#connection.pipeline() as unknown as {
      ssUpsert(...a: unknown[]): void;
      exec(): Promise<[Error | null, unknown][] | null>;
    };
    const after: Array<() => void> = [];
    for (const [id, json] of batch.upserts) {
      const record = JSON.parse(json) as PersistedSessionRecord;
      const fields = fieldsOfSerialized(record.cookieJar);
      const { sets, dels } = diffFields(this.#tracking.seen(id), fields);
      pipeline.ssUpsert(...this.#upsertArgs(record, '', sets, dels));
      after.push(() => this.#tracking.setSeen(id, fields));
    }
    for (const id of batch.deletes) {
      const record = this.#tracking.lastKnown(id);
      if (!record) continue;
      pipeline.ssUpsert(...this.#upsertArgs(record, 'manual', [], []));
      after.push(() => this.#tracking.forget(id));
    }
    if (after.length === 0) return;
    const results = (await pipeline.exec()) ?? [];
    let failure: Error | undefined;
    results.forEach(([error], index) => {
      if (error) failure ??= error;
      else after[index]?.();
    });
    if (failure) throw failure;
  }

  /** Moves every key of the pool under `<prefix>aside-<time>-<reason>:` (never deletes). */
  async setAside(reason: string): Promise<string | undefined> {
    const aside = await setAsideKeys(this.#connection, this.keyPrefix, reason);
    return aside === undefined ? undefined : `${this.location} → ${aside}`;
  }

  /** Deletes every key of the pool (set-aside content is kept). */
  async reset(): Promise<void> {
    await deleteKeys(this.#connection, this.keyPrefix);
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
      this.#storeId,
      'maxUsageCount' in record ? JSON.stringify(contextFields(record as PersistedSessionRecord)) : '',
      sent.usage,
      sent.score,
      record.maxUsageCount ?? '',
      record.maxErrorScore ?? '',
      record.expiresAt ?? '',
      record.blockedUntil ?? '',
      reason,
      this.#config.tombstoneTtlSecs,
      sets.length,
    ];
    for (const [field, json] of sets) args.push(field, json);
    args.push(dels.length, ...dels);
    return args;
  }

  async #readRecords(ids: readonly string[]): Promise<PersistedSessionRecord[]> {
    const P = this.keyPrefix;
    const pipeline = this.#connection.pipeline();
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
        usage: Number(fields[`cu:${this.#storeId}`] ?? 0),
        score: Number(fields[`ce:${this.#storeId}`] ?? 0),
      };
      this.#tracking.loaded(id, { usage: record.usageCount, score: record.errorScore }, mine, cookies);
      records.push(record);
    });
    return records;
  }
}
