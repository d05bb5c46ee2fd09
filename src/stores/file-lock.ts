/**
 * An advisory lock file next to the state file, so two processes never interleave writes to one state. The lock
 * holds the owner's pid and host; a lock whose owner is gone (killed with SIGKILL, crashed, or a container that
 * restarted and reused the pid) is stale and is taken over.
 */
import { randomUUID } from 'node:crypto';
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { StateLockedError } from '../errors.js';

/** Lock files this process holds, so a second store in the same process is refused too. */
const heldHere = new Set<string>();

/** A lock file younger than this with no readable content is being written by its creator right now. */
const UNREADABLE_LOCK_GRACE_MS = 2000;

interface LockOwner {
  pid: number;
  host: string;
  token: string;
  acquiredAt: string;
}

export interface FileLock {
  readonly path: string;
  release(): Promise<void>;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const owner = JSON.parse(text) as Partial<LockOwner>;
    if (typeof owner.pid === 'number' && typeof owner.host === 'string' && typeof owner.token === 'string') {
      return owner as LockOwner;
    }
  } catch {}
  return undefined;
}

async function readOwner(
  lockPath: string,
): Promise<{ owner: LockOwner | undefined; text: string } | undefined> {
  try {
    const text = await readFile(lockPath, 'utf8');
    return { owner: parseOwner(text), text };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Why the lock is held, or `undefined` when it is stale and may be taken over. */
async function heldBecause(lockPath: string, owner: LockOwner | undefined): Promise<string | undefined> {
  if (!owner) {
    const modified = await stat(lockPath).then(
      (stats) => stats.mtimeMs,
      () => 0, // gone meanwhile: nothing to wait for
    );
    const age = Date.now() - modified;
    return age < UNREADABLE_LOCK_GRACE_MS ? 'its lock file is being created by another pool' : undefined;
  }
  if (owner.host !== hostname()) {
    return `locked by process ${owner.pid} on host ${owner.host} (cannot check it from here)`;
  }
  if (owner.pid === process.pid) {
    return heldHere.has(lockPath) ? 'another pool in this process has it open' : undefined;
  }
  return isAlive(owner.pid) ? `locked by running process ${owner.pid}` : undefined;
}

/** Takes the lock at `lockPath` for the state `file`, or throws `StateLockedError`. */
export async function acquireFileLock(lockPath: string, file: string): Promise<FileLock> {
  const owner: LockOwner = {
    pid: process.pid,
    host: hostname(),
    token: randomUUID(),
    acquiredAt: new Date().toISOString(),
  };
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      const handle = await open(lockPath, 'wx', 0o600);
      try {
        await handle.writeFile(JSON.stringify(owner));
        await handle.sync();
      } finally {
        await handle.close();
      }
      heldHere.add(lockPath);
      return { path: lockPath, release: () => releaseFileLock(lockPath, owner.token) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const current = await readOwner(lockPath);
    if (!current) continue; // released meanwhile
    const reason = await heldBecause(lockPath, current.owner);
    if (reason !== undefined) throw new StateLockedError(file, reason, current.owner?.pid);
    await takeOverStaleLock(lockPath, current.text);
  }
  throw new StateLockedError(file, 'another pool keeps taking the lock');
}

/**
 * Moves the stale lock away under a unique name, then checks that what moved is the stale lock that was read:
 * if another process took the lock over in between, its fresh lock is put back.
 */
async function takeOverStaleLock(lockPath: string, staleText: string): Promise<void> {
  const aside = `${lockPath}.stale-${process.pid}-${randomUUID().slice(0, 8)}`;
  try {
    await rename(lockPath, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const moved = await readFile(aside, 'utf8').catch(() => staleText);
  if (moved !== staleText) {
    await rename(aside, lockPath).catch(() => {});
    return;
  }
  await unlink(aside).catch(() => {});
}

async function releaseFileLock(lockPath: string, token: string): Promise<void> {
  if (!heldHere.has(lockPath)) return;
  heldHere.delete(lockPath);
  const current = await readOwner(lockPath);
  // Never remove a lock someone else took over (after ours was judged stale).
  if (current?.owner?.token === token) await unlink(lockPath).catch(() => {});
}
