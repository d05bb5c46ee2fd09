import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CorruptStateError,
  FileSessionStore,
  InvalidSavedSessionError,
  type PersistErrorEvent,
  SessionPool,
  type SessionPoolOptions,
  type SessionStore,
  StateLockedError,
  type StateRestoredEvent,
  type StoreWriteBatch,
  UnsupportedStateVersionError,
} from '../../src/index.js';
import { exited, readLines, runFixture } from './fixtures/child.js';
import { Resources, simulatedClock } from './helpers.js';

const resources = new Resources();
afterEach(() => resources.close());

/** A pool on `<dir>/STATE.json`; the state file path is returned with it. */
async function filePool(dir: string, options: SessionPoolOptions<SessionPool> = {}) {
  const pool = resources.track(
    new SessionPool({ store: 'file', persistStateDir: dir, persistStateKey: 'STATE', ...options }),
  );
  return { pool, file: join(dir, 'STATE.json') };
}

async function savedState(dir: string): Promise<{ file: string; text: string }> {
  const { pool, file } = await filePool(dir);
  await pool.initialize();
  const session = await pool.addSession({ id: 'keeper', userData: { plan: 'gold' } });
  session.setCookie('sid=1; Path=/', 'https://example.com/');
  await pool.teardown();
  return { file, text: await readFile(file, 'utf8') };
}

describe('file store', () => {
  it('writes one JSON document, readable by its owner only, and restores it in a new pool', async () => {
    const dir = await resources.dir();
    const { file, text } = await savedState(dir);
    const document = JSON.parse(text);
    expect(document).toMatchObject({ format: 'session-supervisor/pool-state', version: 1 });
    expect(document.sessions.map((s: { id: string }) => s.id)).toEqual(['keeper']);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    // No lock or temporary file is left behind after teardown.
    expect(await readdir(dir)).toEqual(['STATE.json']);

    const { pool } = await filePool(dir);
    await pool.initialize();
    const restored = await pool.getSession('keeper');
    expect(restored?.userData).toEqual({ plan: 'gold' });
    expect(restored?.getCookieString('https://example.com/')).toBe('sid=1');
  });

  it.each([
    ['truncated', (text: string) => text.slice(0, Math.floor(text.length / 2)), /not valid JSON/],
    ['empty', () => '', /empty/],
    ['not ours', () => JSON.stringify({ usableSessionsCount: 0, sessions: [] }), /"format"/],
  ])(
    'moves a %s state file aside with a CorruptStateError naming the file and the problem',
    async (_, damage, problem) => {
      const dir = await resources.dir();
      const { file, text } = await savedState(dir);
      const damaged = damage(text);
      await writeFile(file, damaged);

      const { pool } = await filePool(dir);
      const error = await pool.initialize().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(CorruptStateError);
      const corrupt = error as CorruptStateError;
      expect(corrupt.code).toBe('ERR_CORRUPT_STATE');
      expect(corrupt.file).toBe(file);
      expect(corrupt.message).toContain(file);
      expect(corrupt.problem).toMatch(problem);
      // Moved aside, byte for byte, never overwritten or deleted; nothing is at the original path any more.
      expect(corrupt.movedTo).toMatch(/STATE\.json\.corrupt-/);
      expect(await readFile(corrupt.movedTo!, 'utf8')).toBe(damaged);
      await expect(stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
      // The failed pool released its lock: the next pool starts empty.
      const { pool: next } = await filePool(dir);
      await next.initialize();
      expect(next.sessionsCount).toBe(0);
    },
  );

  it('names the session and the field of a hand-edited state file', async () => {
    const dir = await resources.dir();
    const { file, text } = await savedState(dir);
    await writeFile(file, text.replace('"usageCount":0', '"usageCount":"lots"'));

    const { pool } = await filePool(dir);
    const error = (await pool.initialize().catch((caught: unknown) => caught)) as InvalidSavedSessionError;
    expect(error).toBeInstanceOf(InvalidSavedSessionError);
    expect(error).toBeInstanceOf(CorruptStateError);
    expect(error.code).toBe('ERR_INVALID_SAVED_SESSION');
    expect(error.sessionId).toBe('keeper');
    expect(error.field).toBe('usageCount');
    expect(error.message).toContain(file);
    expect(error.movedTo).toBeDefined();
  });

  it('rejects bad cookies in a saved jar, naming the cookie', async () => {
    const dir = await resources.dir();
    const { file, text } = await savedState(dir);
    const document = JSON.parse(text);
    document.sessions[0].cookieJar.cookies.push({ value: 'no key' });
    await writeFile(file, JSON.stringify(document));
    const { pool } = await filePool(dir);
    await expect(pool.initialize()).rejects.toMatchObject({
      field: 'cookieJar.cookies[1].key',
      sessionId: 'keeper',
    });
  });

  it('with startFresh, begins empty and reports what it discarded (the bad file is still moved aside)', async () => {
    const dir = await resources.dir();
    const { file } = await savedState(dir);
    await writeFile(file, '{"format":"session-supervisor/pool-state","version":1,"sav');
    const { pool } = await filePool(dir, { startFresh: true });
    const restored: StateRestoredEvent[] = [];
    pool.on('stateRestored', (event) => restored.push(event));
    await pool.initialize();
    expect(pool.sessionsCount).toBe(0);
    expect(restored[0]?.discarded).toBeInstanceOf(CorruptStateError);
    const movedTo = restored[0]?.movedTo as string;
    expect(movedTo).toBe((restored[0]!.discarded as CorruptStateError).movedTo);
    expect(await readFile(movedTo, 'utf8')).toContain('"sav');
    // The fresh pool writes a good state again.
    await pool.addSession({ id: 'new' });
    await pool.persistState();
    expect(JSON.parse(await readFile(file, 'utf8')).sessions[0].id).toBe('new');
  });

  it('refuses a document from a newer version with a typed error and leaves it untouched', async () => {
    const dir = await resources.dir();
    const { file, text } = await savedState(dir);
    const future = text.replace('"version":1', '"version":2');
    await writeFile(file, future);
    const { pool } = await filePool(dir);
    const error = (await pool
      .initialize()
      .catch((caught: unknown) => caught)) as UnsupportedStateVersionError;
    expect(error).toBeInstanceOf(UnsupportedStateVersionError);
    expect(error).toMatchObject({
      code: 'ERR_UNSUPPORTED_STATE_VERSION',
      version: 2,
      supportedVersion: 1,
      file,
    });
    expect(await readFile(file, 'utf8')).toBe(future);

    const { pool: fresh } = await filePool(dir, { startFresh: true });
    const restored: StateRestoredEvent[] = [];
    fresh.on('stateRestored', (event) => restored.push(event));
    await fresh.initialize();
    expect(fresh.sessionsCount).toBe(0);
    expect(restored[0]?.discarded).toBeInstanceOf(UnsupportedStateVersionError);
    const aside = (await readdir(dir)).find((name) => name.startsWith('STATE.json.newer-version-'));
    expect(restored[0]?.movedTo).toBe(join(dir, aside!));
    expect(await readFile(join(dir, aside!), 'utf8')).toBe(future);
  });

  it('never lets one set-aside file overwrite another', async () => {
    const dir = await resources.dir();
    const file = join(dir, 'STATE.json');
    for (const content of ['first bad', 'second bad']) {
      await writeFile(file, content);
      const { pool } = await filePool(dir);
      await expect(pool.initialize()).rejects.toBeInstanceOf(CorruptStateError);
    }
    const aside = (await readdir(dir)).filter((name) => name.includes('.corrupt-'));
    const contents = await Promise.all(aside.map((name) => readFile(join(dir, name), 'utf8')));
    expect(contents.sort()).toEqual(['first bad', 'second bad']);
  });

  it('takes over a lock left by a process that no longer exists, and clears its temporary files', async () => {
    const dir = await resources.dir();
    const file = join(dir, 'STATE.json');
    const { file: saved, text } = await savedState(dir);
    expect(saved).toBe(file);
    // What a writer killed mid-write leaves: a lock naming it (here: this pid, as after a container restart
    // that reused it) and a half-written temporary file.
    const { hostname } = await import('node:os');
    await writeFile(
      `${file}.lock`,
      JSON.stringify({ pid: process.pid, host: hostname(), token: 'gone', acquiredAt: '' }),
    );
    await writeFile(`${file}.tmp-${process.pid}-7`, '{"half":');
    const { pool } = await filePool(dir);
    await pool.initialize();
    expect(await pool.getSession('keeper')).toBeDefined();
    expect((await readdir(dir)).sort()).toEqual(['STATE.json', 'STATE.json.lock']);
    expect(await readFile(file, 'utf8')).toBe(text);
  });

  it('refuses a second pool on the same file in this process', async () => {
    const dir = await resources.dir();
    const { pool: first } = await filePool(dir);
    await first.initialize();
    const { pool: second, file } = await filePool(dir);
    const error = (await second.initialize().catch((caught: unknown) => caught)) as StateLockedError;
    expect(error).toBeInstanceOf(StateLockedError);
    expect(error).toMatchObject({ code: 'ERR_STATE_LOCKED', file, ownerPid: process.pid });
    await first.teardown();
    await second.initialize();
    expect(second.sessionsCount).toBe(0);
  });

  it('refuses a second process while the first runs, and takes over the lock once it is killed', async () => {
    const dir = await resources.dir();
    const file = join(dir, 'STATE.json');
    const holder = runFixture('./hold-store.ts', [file]);
    try {
      let holderPid = 0;
      await readLines(holder, (line) => {
        holderPid = Number(line.split(' ')[1]);
        return line.startsWith('ready');
      });
      // Another process is refused...
      const contender = runFixture('./hold-store.ts', [file]);
      let refusal = '';
      await readLines(contender, (line) => {
        refusal = line;
        return true;
      });
      await exited(contender);
      expect(refusal).toBe(`error ERR_STATE_LOCKED ${holderPid}`);
      // ...and so is this one.
      const { pool } = await filePool(dir);
      await expect(pool.initialize()).rejects.toMatchObject({
        code: 'ERR_STATE_LOCKED',
        ownerPid: holderPid,
      });

      holder.kill('SIGKILL');
      await exited(holder);
      const lock = JSON.parse(await readFile(`${file}.lock`, 'utf8'));
      expect(lock.pid).toBe(holderPid);
      // The lock of a dead process is stale: the next pool takes it over.
      await pool.initialize();
      expect(pool.sessionsCount).toBe(0);
      expect(JSON.parse(await readFile(`${file}.lock`, 'utf8')).pid).toBe(process.pid);
    } finally {
      holder.kill('SIGKILL');
      await exited(holder);
    }
  });
});

/** A real file store whose writes fail while `failing` is set: a disk that is full for a while. */
class FlakyStore extends FileSessionStore implements SessionStore {
  failing = false;
  attempts = 0;

  override async write(batch: StoreWriteBatch): Promise<void> {
    this.attempts += 1;
    if (this.failing) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    await super.write(batch);
  }
}

describe('a store that fails to write', () => {
  it('reports persistError, keeps the crawl and the previous good state, and retries', async () => {
    const dir = await resources.dir();
    const file = join(dir, 'STATE.json');
    const store = new FlakyStore({ path: file });
    const clock = simulatedClock();
    const pool = await resources.pool({ store, clock });
    const errors: PersistErrorEvent[] = [];
    pool.on('persistError', (event) => errors.push(event));
    const session = await pool.addSession({ id: 'a' });
    session.markGood();
    await pool.persistState();
    const good = await readFile(file, 'utf8');

    store.failing = true;
    session.markGood();
    await expect(pool.persistState()).rejects.toMatchObject({ code: 'ERR_PERSIST_WRITE', file });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ location: file, attempt: 1 });
    expect(errors[0]?.error.message).toContain('ENOSPC');
    expect(await readFile(file, 'utf8')).toBe(good);
    // The crawl goes on.
    const other = await pool.getSession();
    other.markGood();
    expect(session.usageCount).toBe(2);

    // The retry is scheduled on the pool's clock with back-off; it fails again, then succeeds.
    const attempts = store.attempts;
    const failedAgain = new Promise((resolve) => pool.once('persistError', resolve));
    clock.increment(1000);
    await failedAgain;
    expect(store.attempts).toBe(attempts + 1);
    expect(errors.map((event) => event.attempt)).toEqual([1, 2]);
    store.failing = false;
    const landed = new Promise((resolve) => pool.once('statePersisted', resolve));
    clock.increment(2000);
    await landed;
    const saved = JSON.parse(await readFile(file, 'utf8'));
    expect(saved.sessions.find((s: { id: string }) => s.id === 'a').usageCount).toBe(2);
    expect(saved.sessions).toHaveLength(2);
  });

  it('skips a session whose userData cannot be serialized, reports it by id, and keeps the others', async () => {
    const dir = await resources.dir();
    const { pool, file } = await filePool(dir);
    await pool.initialize();
    const errors: PersistErrorEvent[] = [];
    pool.on('persistError', (event) => errors.push(event));
    await pool.addSession({ id: 'fine' });
    const bad = await pool.addSession({ id: 'bad' });
    bad.userData.big = 10n;
    await pool.persistState();
    expect(errors.map((event) => event.error.sessionId)).toEqual(['bad']);
    const saved = JSON.parse(await readFile(file, 'utf8'));
    expect(saved.sessions.map((s: { id: string }) => s.id)).toEqual(['fine']);
  });
});
