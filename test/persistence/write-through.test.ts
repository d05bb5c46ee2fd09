import { afterEach, describe, expect, it } from 'vitest';
import { MemorySessionStore, type StatePersistedEvent, type StoreWriteBatch } from '../../src/index.js';
import { Resources, simulatedClock } from './helpers.js';

const resources = new Resources();
afterEach(() => resources.close());

/** A memory store whose writes take a turn of the event loop, and which counts them. */
class SlowMemoryStore extends MemorySessionStore {
  readonly batches: StoreWriteBatch[] = [];

  override async write(batch: StoreWriteBatch): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 5));
    await super.write(batch);
    this.batches.push(batch);
  }

  /** What a restart would see right now. */
  durable(): {
    pool: { retiredCount: number };
    sessions: Array<{ id: string; usageCount: number; state: string }>;
  } {
    return JSON.parse(this.toJSONText() ?? '{"pool":{"retiredCount":0},"sessions":[]}');
  }
}

describe('write-through persistence', () => {
  it('reports sessionCreated, sessionStateChanged and sessionRetired only once the change is durable', async () => {
    const store = new SlowMemoryStore();
    const pool = await resources.pool({ store, clock: simulatedClock(), persistenceMode: 'write-through' });
    const seen: string[] = [];
    /** What a restart would have seen at the moment each event was reported. */
    const durableAtReport: Array<ReturnType<SlowMemoryStore['durable']>> = [];
    const record = (line: string) => {
      seen.push(line);
      durableAtReport.push(store.durable());
    };
    pool.on('sessionCreated', (session) => record(`created ${session.id}`));
    pool.on('sessionStateChanged', ({ session, state }) => record(`${state} ${session.id}`));
    pool.on('sessionRetired', ({ session }) => record(`retired ${session.id}`));

    const session = await pool.addSession({ id: 'w', maxErrorScore: 2 });
    expect(seen).toEqual([]);
    await pool.persistState();
    expect(seen).toEqual(['created w']);
    expect(durableAtReport[0]?.sessions.map((s) => [s.id, s.state])).toEqual([['w', 'fresh']]);

    session.markBad();
    expect(seen).toHaveLength(1);
    await pool.persistState();
    expect(seen.slice(1)).toEqual(['active w', 'degraded w']);
    for (const durable of durableAtReport.slice(1)) {
      expect(durable.sessions).toEqual([
        expect.objectContaining({ id: 'w', state: 'degraded', usageCount: 1 }),
      ]);
    }

    session.markBad();
    expect(seen).toHaveLength(3);
    await pool.persistState();
    expect(seen.slice(3)).toEqual(['blocked w', 'retired w', 'retired w']);
    for (const durable of durableAtReport.slice(3)) {
      expect(durable.sessions).toEqual([]);
      expect(durable.pool.retiredCount).toBe(1);
    }
  });

  it('holds reports back until the write that covers them lands, even without persistState()', async () => {
    const store = new SlowMemoryStore();
    const pool = await resources.pool({ store, clock: simulatedClock(), persistenceMode: 'write-through' });
    const retired = new Promise<number>((resolve) =>
      pool.on('sessionRetired', () => resolve(store.durable().sessions.length)),
    );
    const session = await pool.addSession({ id: 'gone' });
    session.retire();
    expect(await retired).toBe(0);
  });

  it('keeps running while the store fails, holds reports back, and releases them once a retry lands', async () => {
    const store = new SlowMemoryStore();
    const first = await resources.pool({ store, clock: simulatedClock() });
    await first.addSession({ id: 'saved' });
    await first.teardown();

    let failing = true;
    const write = store.write.bind(store);
    store.write = async (batch) => {
      if (failing) throw new Error('store unavailable');
      await write(batch);
    };
    const clock = simulatedClock();
    const pool = resources.track(
      new (await import('../../src/index.js')).SessionPool({
        store,
        clock,
        persistenceMode: 'write-through',
      }),
    );
    const errors: number[] = [];
    const created: string[] = [];
    pool.on('persistError', ({ attempt }) => errors.push(attempt));
    pool.on('sessionCreated', (session) => created.push(session.id));
    await pool.initialize(); // does not throw: the failure is an event, the crawl goes on
    expect(errors).toEqual([1]);
    const session = await pool.getSession();
    session.markGood();
    expect(created).toEqual([]);
    expect(store.durable().sessions.map((s) => s.id)).toEqual(['saved']);

    failing = false;
    const landed = new Promise((resolve) => pool.once('statePersisted', resolve));
    clock.increment(1000); // the retry, on the pool's clock
    await landed;
    expect(created.sort()).toEqual(['saved', session.id].sort());
    expect(store.durable().sessions.find((s) => s.id === session.id)?.usageCount).toBe(1);
  });

  it('coalesces a burst of changes into few writes, one in flight at a time', async () => {
    const store = new SlowMemoryStore();
    const pool = await resources.pool({
      store,
      clock: simulatedClock(),
      persistenceMode: 'write-through',
      sessionOptions: { maxUsageCount: 10_000 },
    });
    let inFlight = 0;
    let maxInFlight = 0;
    const original = store.write.bind(store);
    store.write = async (batch) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        await original(batch);
      } finally {
        inFlight -= 1;
      }
    };
    const sessions = await Promise.all(
      Array.from({ length: 20 }, (_, i) => pool.addSession({ id: `s${i}` })),
    );
    for (let round = 0; round < 50; round += 1) {
      for (const session of sessions) session.markGood();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await pool.persistState();
    expect(maxInFlight).toBe(1);
    expect(store.batches.length).toBeLessThan(50);
    expect(store.durable().sessions.every((s) => s.usageCount === 50)).toBe(true);
    // Writes after the first carry only what changed, not every session.
    expect(store.batches.some((batch) => !batch.replace && batch.upserts.size <= 20)).toBe(true);
  });

  it('persists cookie changes, however they reach the jar', async () => {
    const store = new MemorySessionStore();
    const pool = await resources.pool({ store, clock: simulatedClock(), persistenceMode: 'write-through' });
    const persisted: StatePersistedEvent[] = [];
    pool.on('statePersisted', (event) => persisted.push(event));
    const session = await pool.addSession({ id: 'c' });
    await pool.persistState();
    const writes = persisted.length;

    // Straight into the tough-cookie jar, as an HTTP client's cookie interceptor would.
    session.cookieJar.setCookieSync('direct=1; Path=/', 'https://example.com/');
    await pool.persistState();
    expect(persisted.length).toBe(writes + 1);
    const saved = JSON.parse(store.toJSONText()!);
    expect(saved.sessions[0].cookieJar.cookies.map((c: { key: string }) => c.key)).toEqual(['direct']);

    session.setCookiesFromResponse({
      url: 'https://example.com/',
      headers: { 'set-cookie': ['direct=2; Path=/', 'next=3; Path=/'] },
    });
    await pool.persistState();
    const after = JSON.parse(store.toJSONText()!);
    const pairs = (doc: typeof after) =>
      doc.sessions[0].cookieJar.cookies.map((c: { key: string; value: string }) => `${c.key}=${c.value}`);
    expect(pairs(after)).toEqual(['direct=2', 'next=3']);

    session.cookieJar.removeAllCookiesSync();
    await pool.persistState();
    expect(pairs(JSON.parse(store.toJSONText()!))).toEqual([]);
  });

  it('persistState() resolves at once when everything is already durable', async () => {
    const store = new SlowMemoryStore();
    const pool = await resources.pool({ store, clock: simulatedClock(), persistenceMode: 'write-through' });
    await pool.addSession({ id: 'a' });
    await pool.persistState();
    const writes = store.batches.length;
    await pool.persistState();
    expect(store.batches.length).toBe(writes);
  });
});
