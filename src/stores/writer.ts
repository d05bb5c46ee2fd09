/**
 * Decides when a pool's state is written, and holds back what must not be reported before it is durable.
 *
 * - Every change gets a sequence number. A write captures the number it covers when it collects the sessions
 *   (synchronously), so anything changed before that moment is in it.
 * - Write-through: changes are coalesced (all changes of one tick and all changes made while a write is in
 *   flight go into the next write); one write is in flight at a time. Reports (pool events) wait in order until
 *   a write covering them has landed.
 * - A failed write is reported, its sessions are marked dirty again, and a retry is scheduled with back-off on
 *   the pool's clock; the store keeps its previous good state.
 */

import type { Clock } from '../clock.js';
import { PersistWriteError } from '../errors.js';
import type { PersistedPoolRecord, PersistenceMode, SessionStore, StoreWriteBatch } from './types.js';

export interface WriterHost {
  readonly clock: Clock;
  readonly store: SessionStore;
  readonly mode: PersistenceMode;
  /** Periodic checkpoint interval; 0 turns periodic checkpoints off. */
  readonly intervalMillis: number;
  /** JSON text of each listed live session (all when `'all'`); reports sessions that cannot be serialized. */
  collect(ids: Iterable<string> | 'all'): Map<string, string>;
  counters(): PersistedPoolRecord;
  onWritten(batch: StoreWriteBatch): void;
  onFailed(error: PersistWriteError, attempt: number): void;
}

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30_000;

export class PersistenceWriter {
  readonly #host: WriterHost;
  readonly #dirty = new Set<string>();
  readonly #deleted = new Set<string>();
  #replacePending = false;
  /** Sequence number of the latest change, and of the latest change known to be durable. */
  #seq = 0;
  #durable = 0;
  #inFlight = 0;
  #chain: Promise<void> = Promise.resolve();
  #immediate: NodeJS.Immediate | undefined;
  #retryTimer: unknown;
  #periodicTimer: unknown;
  #failures = 0;
  #closed = false;
  #reports: Array<{ seq: number; fire: () => void }> = [];

  constructor(host: WriterHost) {
    this.#host = host;
  }

  get writeThrough(): boolean {
    return this.#host.mode === 'write-through';
  }

  /** Arms the periodic checkpoint timer. */
  start(): void {
    this.#armPeriodic();
  }

  /** Write-through only: checkpoints write every session anyway, so tracking would only grow the sets. */
  changed(sessionId: string): void {
    if (!this.writeThrough) return;
    this.#dirty.add(sessionId);
    this.#bump();
  }

  deleted(sessionId: string): void {
    if (!this.writeThrough) return;
    this.#dirty.delete(sessionId);
    this.#deleted.add(sessionId);
    this.#bump();
  }

  /** The next write replaces everything stored (after a reset, or an import). */
  replaceAll(): void {
    this.#replacePending = true;
    this.#bump();
  }

  /** Runs `fire` now, or in write-through mode once everything changed so far is durable. */
  report(fire: () => void): void {
    if (!this.writeThrough || this.#closed) {
      fire();
      return;
    }
    this.#bump();
    this.#reports.push({ seq: this.#seq, fire });
  }

  /**
   * Resolves once the store holds every change made before the call: a full write in checkpoint mode, the
   * pending changes in write-through mode. Rejects with `PersistWriteError` if that write fails.
   */
  flush(): Promise<void> {
    if (this.writeThrough && !this.#hasPending() && this.#durable === this.#seq && this.#inFlight === 0) {
      return Promise.resolve();
    }
    return this.#write(!this.writeThrough);
  }

  /** Final write, then no more timers; reports still held are dropped (their changes never became durable). */
  async close(): Promise<void> {
    this.#clearTimers();
    const last = this.#write(true);
    this.#closed = true;
    try {
      await last;
    } finally {
      this.#reports = [];
    }
  }

  #hasPending(): boolean {
    return this.#dirty.size > 0 || this.#deleted.size > 0 || this.#replacePending;
  }

  #bump(): void {
    this.#seq += 1;
    this.#schedule();
  }

  #schedule(): void {
    if (!this.writeThrough || this.#closed) return;
    if (this.#inFlight > 0 || this.#immediate || this.#retryTimer !== undefined) return;
    // One tick of coalescing: every change made synchronously with this one rides in the same write.
    this.#immediate = setImmediate(() => {
      this.#immediate = undefined;
      this.#write(false).catch(() => {});
    });
  }

  /** Collects now (synchronously), writes after the writes before it. */
  #write(replace: boolean): Promise<void> {
    if (this.#immediate) {
      clearImmediate(this.#immediate);
      this.#immediate = undefined;
    }
    if (this.#retryTimer !== undefined) {
      this.#host.clock.clearTimeout(this.#retryTimer);
      this.#retryTimer = undefined;
    }
    const seq = this.#seq;
    const full = replace || this.#replacePending;
    const ids = full ? 'all' : [...this.#dirty];
    const deletes = full ? [] : [...this.#deleted];
    this.#dirty.clear();
    this.#deleted.clear();
    this.#replacePending = false;
    const batch: StoreWriteBatch = {
      savedAt: this.#host.clock.now(),
      pool: this.#host.counters(),
      upserts: this.#host.collect(ids),
      deletes,
      replace: full,
    };
    this.#inFlight += 1;
    const attempt = this.#chain.then(() => this.#host.store.write(batch));
    const settled = attempt.then(
      () => this.#succeeded(seq, batch),
      (error: unknown) => this.#failed(error, ids, deletes, full),
    );
    this.#chain = settled.then(
      () => {},
      () => {},
    );
    return settled;
  }

  #succeeded(seq: number, batch: StoreWriteBatch): void {
    this.#inFlight -= 1;
    this.#failures = 0;
    this.#durable = Math.max(this.#durable, seq);
    this.#host.onWritten(batch);
    this.#releaseReports();
    if (this.#hasPending() || this.#seq > this.#durable) this.#schedule();
  }

  #failed(error: unknown, ids: Iterable<string> | 'all', deletes: readonly string[], full: boolean): never {
    this.#inFlight -= 1;
    this.#failures += 1;
    if (full) this.#replacePending = true;
    else for (const id of ids) if (!this.#deleted.has(id)) this.#dirty.add(id);
    for (const id of deletes) if (!this.#dirty.has(id)) this.#deleted.add(id);
    const detail = error instanceof Error ? error.message : String(error);
    const wrapped = new PersistWriteError(this.#host.store.location, detail, { cause: error });
    this.#host.onFailed(wrapped, this.#failures);
    if (!this.#closed && this.#retryTimer === undefined) {
      const delay = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (this.#failures - 1));
      this.#retryTimer = this.#host.clock.setTimeout(() => {
        this.#retryTimer = undefined;
        this.#write(!this.writeThrough).catch(() => {});
      }, delay);
    }
    throw wrapped;
  }

  #releaseReports(): void {
    let released = 0;
    while (released < this.#reports.length && (this.#reports[released]?.seq ?? Infinity) <= this.#durable) {
      released += 1;
    }
    if (released === 0) return;
    const ready = this.#reports.splice(0, released);
    for (const { fire } of ready) {
      try {
        fire();
      } catch (error) {
        // A throwing listener must not break the write chain; surface it as an uncaught error, as emit would.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  #armPeriodic(): void {
    if (this.#host.intervalMillis <= 0 || this.#closed) return;
    this.#periodicTimer = this.#host.clock.setTimeout(() => {
      this.#periodicTimer = undefined;
      this.#write(true).catch(() => {});
      this.#armPeriodic();
    }, this.#host.intervalMillis);
  }

  #clearTimers(): void {
    if (this.#immediate) clearImmediate(this.#immediate);
    this.#immediate = undefined;
    for (const timer of [this.#retryTimer, this.#periodicTimer]) {
      if (timer !== undefined) this.#host.clock.clearTimeout(timer);
    }
    this.#retryTimer = undefined;
    this.#periodicTimer = undefined;
  }
}
