/**
 * A pool's persistence: restores the pool from its store on `initialize()`, tracks what changes, writes it
 * (through `PersistenceWriter`), and imports Crawlee's state. The pool owns the actors and the handles; this
 * class only reads them through `PersistenceHost` and asks the pool to adopt restored sessions.
 */
import { type SessionStateName, stateNameOf } from '../../machines/session.machine.js';
import { serializeCookieJar } from '../cookies.js';
import { CorruptStateError, PersistWriteError, UnsupportedStateVersionError } from '../errors.js';
import type { Session } from '../session.js';
import type { CrawleeSessionPoolState } from './crawlee.js';
import type { StateRestoredEvent } from './events.js';
import { observeActor, observeCookieJar } from './observe.js';
import type { ResolvedPersistenceOptions } from './options.js';
import {
  adoptRecords,
  type CrawleeImportResult,
  importCrawleeSessions,
  type PersistenceHost,
} from './restore.js';
import type { PersistedPoolDocument, SessionStore } from './types.js';
import { PersistenceWriter } from './writer.js';

/** What `load()` found: the stored document, or (with `startFresh`) what was discarded and where it went. */
export interface LoadedState {
  document: PersistedPoolDocument | null;
  discarded?: StateRestoredEvent['discarded'];
  movedTo?: string | undefined;
}

export class PoolPersistence {
  readonly store: SessionStore;
  readonly #options: ResolvedPersistenceOptions;
  readonly #host: PersistenceHost;
  readonly #writer: PersistenceWriter;
  readonly #untrack = new Map<string, () => void>();
  /** Whether this pool holds the store open (its lock); a store refuses a second opener. */
  #opened = false;

  constructor(store: SessionStore, options: ResolvedPersistenceOptions, host: PersistenceHost) {
    this.store = store;
    this.#options = options;
    this.#host = host;
    this.#writer = new PersistenceWriter({
      clock: host.clock,
      store,
      mode: options.mode,
      intervalMillis: options.intervalMillis,
      collect: (ids) => this.#collect(ids),
      counters: () => host.counters(),
      onWritten: (batch) =>
        host.statePersisted({
          location: store.location,
          savedAt: batch.savedAt,
          upserted: batch.upserts.size,
          deleted: batch.deletes.length,
          replaced: batch.replace,
        }),
      onFailed: (error, attempt) => host.persistError({ error, location: store.location, attempt }),
    });
  }

  /**
   * Opens the store and reads it. Unreadable content is moved aside (never deleted) and reported with a typed
   * error; with `startFresh` the pool begins empty instead. On error the store is closed again.
   */
  async load(): Promise<LoadedState> {
    await this.#open();
    try {
      return { document: await this.store.load() };
    } catch (error) {
      const unreadable = error instanceof CorruptStateError || error instanceof UnsupportedStateVersionError;
      if (!unreadable || (error instanceof UnsupportedStateVersionError && !this.#options.startFresh)) {
        await this.#close();
        throw error;
      }
      const movedTo = await this.store.setAside(
        error instanceof CorruptStateError ? 'corrupt' : 'newer-version',
      );
      if (error instanceof CorruptStateError) error.recordMovedTo(movedTo);
      if (!this.#options.startFresh) {
        await this.#close();
        throw error;
      }
      return { document: null, discarded: error, movedTo };
    }
  }

  /** Spawns the saved sessions (after the pool actor started) and restores the pool's counters. */
  restore({ document, discarded, movedTo }: LoadedState): StateRestoredEvent {
    const before = this.#host.counters();
    const result = document
      ? adoptRecords(document.sessions, this.#host)
      : { alive: [], retired: 0, dropped: [], cookiesDropped: {} };
    if (document) {
      this.#host.setCounters({
        createdCount: Math.max(document.pool.createdCount, this.#host.counters().createdCount),
        retiredCount: document.pool.retiredCount + (this.#host.counters().retiredCount - before.retiredCount),
      });
      for (const id of result.dropped) this.#writer.deleted(id);
    }
    const event: StateRestoredEvent = {
      location: this.store.location,
      savedAt: document?.savedAt ?? null,
      restored: result.alive.length,
      retired: result.retired,
      dropped: result.dropped,
      cookiesDropped: result.cookiesDropped,
    };
    if (discarded) event.discarded = discarded;
    if (movedTo !== undefined) event.movedTo = movedTo;
    return event;
  }

  /** Arms the checkpoint timer; in write-through mode, waits until the restored state is durable. */
  async start(): Promise<void> {
    this.#writer.start();
    await this.#settle();
  }

  /** Watches a live session for changes (write-through only: checkpoints read everything anyway). */
  track(session: Session): void {
    const id = session.id;
    this.#writer.changed(id);
    if (!this.#writer.writeThrough) return;
    const onChange = () => this.#writer.changed(id);
    const stopActor = observeActor(session.actor, onChange);
    const stopJar = observeCookieJar(session.cookieJar, onChange);
    this.#untrack.set(id, () => {
      stopActor();
      stopJar();
    });
  }

  /** A session left the pool (retired): it is deleted from the store. */
  forget(sessionId: string): void {
    this.#untrack.get(sessionId)?.();
    this.#untrack.delete(sessionId);
    this.#writer.deleted(sessionId);
  }

  /** Runs `fire` now, or (write-through) once the change it reports is durable. */
  report(fire: () => void): void {
    this.#writer.report(fire);
  }

  persistState(): Promise<void> {
    return this.#writer.flush();
  }

  /** Removes the stored state; a running pool writes its live sessions again at the next write. */
  async resetStore(running: boolean): Promise<void> {
    await this.#open();
    await this.store.reset();
    if (running) this.#writer.replaceAll();
  }

  async importCrawleeState(state: CrawleeSessionPoolState | string): Promise<CrawleeImportResult> {
    const result = importCrawleeSessions(state, this.#host);
    await this.#settle();
    return result;
  }

  /**
   * Starts the final write synchronously (so it captures the sessions before the pool stops them), then waits
   * for it and releases the store. A failed final write is reported as `persistError`, not thrown.
   */
  close(): Promise<void> {
    const finalWrite = this.#writer.close().catch(() => {});
    for (const untrack of this.#untrack.values()) untrack();
    this.#untrack.clear();
    return finalWrite.then(() => this.#close());
  }

  /** Releases the store without writing (a pool torn down before it started). */
  release(): Promise<void> {
    return this.#close();
  }

  /**
   * Write-through: waits until what just happened is durable. A failed write does not fail the caller: the pool
   * is running, the failure is reported as `persistError`, and the write is retried.
   */
  async #settle(): Promise<void> {
    if (this.#writer.writeThrough) await this.#writer.flush().catch(() => {});
  }

  async #open(): Promise<void> {
    if (this.#opened) return;
    await this.store.open();
    this.#opened = true;
  }

  async #close(): Promise<void> {
    if (!this.#opened) return;
    this.#opened = false;
    await this.store.close();
  }

  #collect(ids: Iterable<string> | 'all'): Map<string, string> {
    const texts = new Map<string, string>();
    const sessions = ids === 'all' ? this.#host.sessions() : [...ids].map((id) => this.#host.session(id));
    for (const session of sessions) {
      if (!session) continue;
      const snapshot = session.actor.getSnapshot();
      if (snapshot.status !== 'active') continue;
      const context = snapshot.context;
      const id = String(context.id);
      try {
        const record = {
          ...context,
          state: stateNameOf(snapshot.value) satisfies SessionStateName,
          cookieJar: serializeCookieJar(session.cookieJar, ({ domain, cookieName, reason }) =>
            this.#host.cookieDropped?.({ sessionId: id, url: domain ?? '', cookieName, reason }),
          ),
        };
        texts.set(id, JSON.stringify(record));
      } catch (error) {
        const detail = `session "${id}" cannot be serialized (${error instanceof Error ? error.message : String(error)}); its last good state is kept`;
        this.#host.persistError({
          error: new PersistWriteError(this.store.location, detail, { cause: error, sessionId: id }),
          location: this.store.location,
          attempt: 1,
        });
      }
    }
    return texts;
  }
}
