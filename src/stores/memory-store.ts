/**
 * A store in this process's memory: the default, and the one tests share between two pools to restart a pool
 * without touching the disk. It keeps the same JSON texts a file would hold and decodes them on `load()`, so a
 * round trip through it checks exactly what a file round trip checks.
 */
import { StateLockedError } from '../errors.js';
import { decodeDocument, encodeDocument } from './document.js';
import type { PersistedPoolDocument, PersistedPoolRecord, SessionStore, StoreWriteBatch } from './types.js';

let instances = 0;

export interface MemorySessionStoreOptions {
  /** A name shown in errors and events (`memory:<name>`). */
  name?: string;
  /** Content to start with: a document or its JSON text (e.g. to test a hand-edited state). */
  initial?: PersistedPoolDocument | string;
}

export class MemorySessionStore implements SessionStore {
  readonly location: string;
  #text: string | undefined;
  #pool: PersistedPoolRecord | undefined;
  #savedAt = 0;
  /** Session JSON texts by id; `undefined` until loaded or written, so raw `#text` stays authoritative. */
  #sessions: Map<string, string> | undefined;
  #open = false;
  /** Content moved aside by `setAside`, newest last. */
  readonly setAsideContents: string[] = [];

  constructor(options: MemorySessionStoreOptions = {}) {
    instances += 1;
    this.location = `memory:${options.name ?? `store-${instances}`}`;
    const initial = options.initial;
    if (initial !== undefined) this.#text = typeof initial === 'string' ? initial : JSON.stringify(initial);
  }

  async open(): Promise<void> {
    if (this.#open) throw new StateLockedError(this.location, 'another pool in this process has it open');
    this.#open = true;
  }

  async load(): Promise<PersistedPoolDocument | null> {
    const text = this.#currentText();
    if (text === undefined) return null;
    const document = decodeDocument(text, this.location);
    this.#pool = document.pool;
    this.#savedAt = document.savedAt;
    this.#sessions = new Map(document.sessions.map((session) => [session.id, JSON.stringify(session)]));
    this.#text = undefined;
    return document;
  }

  async write(batch: StoreWriteBatch): Promise<void> {
    // Content given at construction and never loaded is applied to, not dropped.
    if (!batch.replace && !this.#sessions && this.#text !== undefined) await this.load();
    const sessions = batch.replace || !this.#sessions ? new Map<string, string>() : this.#sessions;
    for (const id of batch.deletes) sessions.delete(id);
    for (const [id, json] of batch.upserts) sessions.set(id, json);
    this.#sessions = sessions;
    this.#pool = batch.pool;
    this.#savedAt = batch.savedAt;
    this.#text = undefined;
  }

  async setAside(_reason: string): Promise<string | undefined> {
    const text = this.#currentText();
    if (text === undefined) return undefined;
    this.setAsideContents.push(text);
    this.#clear();
    return `${this.location}#aside-${this.setAsideContents.length}`;
  }

  async reset(): Promise<void> {
    this.#clear();
  }

  async close(): Promise<void> {
    this.#open = false;
  }

  /** The stored document as JSON text, or `undefined` if nothing is stored. */
  toJSONText(): string | undefined {
    return this.#currentText();
  }

  #currentText(): string | undefined {
    if (this.#text !== undefined) return this.#text;
    if (!this.#sessions || !this.#pool) return undefined;
    return encodeDocument(this.#savedAt, this.#pool, this.#sessions.values());
  }

  #clear(): void {
    this.#text = undefined;
    this.#sessions = undefined;
    this.#pool = undefined;
  }
}
