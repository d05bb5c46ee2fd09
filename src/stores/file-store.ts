/**
 * The embedded store for real runs: one JSON document on disk. Each write goes to a temporary file that is
 * fsynced, then renamed over the document, then the directory is fsynced: a crash at any point leaves either the
 * previous document or the new one, never a mix. A lock file keeps a second pool (or process) out.
 */
import { access, mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { decodeDocument, encodeDocument } from './document.js';
import { acquireFileLock, type FileLock } from './file-lock.js';
import type { PersistedPoolDocument, PersistedPoolRecord, SessionStore, StoreWriteBatch } from './types.js';

export interface FileSessionStoreOptions {
  /** Path of the state file; its directory is created when missing. */
  path: string;
}

/** Cookies are credentials: the state file is readable by its owner only. */
const FILE_MODE = 0o600;

export class FileSessionStore implements SessionStore {
  /** Absolute path of the state file. */
  readonly location: string;
  readonly #dir: string;
  #lock: FileLock | undefined;
  #opening: Promise<void> | undefined;
  #pool: PersistedPoolRecord = { createdCount: 0, retiredCount: 0 };
  /** Session JSON texts by id: what the file holds once the pending write lands. */
  #sessions = new Map<string, string>();
  #tmpCounter = 0;

  constructor(options: FileSessionStoreOptions) {
    this.location = resolve(options.path);
    this.#dir = dirname(this.location);
  }

  open(): Promise<void> {
    this.#opening ??= this.#open().catch((error: unknown) => {
      this.#opening = undefined;
      throw error;
    });
    return this.#opening;
  }

  async #open(): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    this.#lock = await acquireFileLock(`${this.location}.lock`, this.location);
    await this.#removeStaleTemporaryFiles();
  }

  async load(): Promise<PersistedPoolDocument | null> {
    let text: string;
    try {
      text = await readFile(this.location, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    const document = decodeDocument(text, this.location);
    this.#pool = document.pool;
    this.#sessions = new Map(document.sessions.map((session) => [session.id, JSON.stringify(session)]));
    return document;
  }

  async write(batch: StoreWriteBatch): Promise<void> {
    if (batch.replace) this.#sessions = new Map();
    for (const id of batch.deletes) this.#sessions.delete(id);
    for (const [id, json] of batch.upserts) this.#sessions.set(id, json);
    this.#pool = batch.pool;
    await this.#writeAtomically(encodeDocument(batch.savedAt, this.#pool, this.#sessions.values()));
  }

  async setAside(reason: string): Promise<string | undefined> {
    const stamp = new Date().toISOString().replaceAll(':', '-');
    let target = `${this.location}.${reason}-${stamp}`;
    // rename() replaces an existing file: never let one set-aside file overwrite an earlier one.
    for (let n = 1; await exists(target); n += 1) target = `${this.location}.${reason}-${stamp}-${n}`;
    try {
      await rename(this.location, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    await this.#syncDirectory();
    this.#sessions = new Map();
    return target;
  }

  async reset(): Promise<void> {
    await unlink(this.location).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    await this.#syncDirectory();
    this.#sessions = new Map();
    this.#pool = { createdCount: 0, retiredCount: 0 };
  }

  async close(): Promise<void> {
    const lock = this.#lock;
    this.#lock = undefined;
    this.#opening = undefined;
    await lock?.release();
  }

  async #writeAtomically(text: string): Promise<void> {
    this.#tmpCounter += 1;
    const tmp = `${this.location}.tmp-${process.pid}-${this.#tmpCounter}`;
    try {
      const handle = await open(tmp, 'w', FILE_MODE);
      try {
        await handle.writeFile(text, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, this.location);
    } catch (error) {
      await unlink(tmp).catch(() => {});
      throw error;
    }
    await this.#syncDirectory();
  }

  /** Makes the rename itself durable; skipped where directories cannot be opened (Windows). */
  async #syncDirectory(): Promise<void> {
    let handle: Awaited<ReturnType<typeof open>> | undefined;
    try {
      handle = await open(this.#dir, 'r');
      await handle.sync();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL') throw error;
    } finally {
      await handle?.close();
    }
  }

  /** A process killed mid-write leaves its temporary file behind; holding the lock, they are all ours to clear. */
  async #removeStaleTemporaryFiles(): Promise<void> {
    const prefix = `${basename(this.location)}.tmp-`;
    for (const name of await readdir(this.#dir)) {
      if (name.startsWith(prefix)) await unlink(join(this.#dir, name)).catch(() => {});
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
