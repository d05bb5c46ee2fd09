/**
 * Reserved uses: a session handed out for a request holds one use until the outcome releases it, through every
 * way in (`pool.fetch`, `pool.dispatcher`, `session.dispatcher`, `pool.acquire`, `pool.withSession`), so limits
 * hold at any concurrency; the reservation is the machine's (context, inspector, persistence).
 */
import { request, fetch as undiciFetch } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import type { SessionLease } from '../../src/acquisition/lease.js';
import {
  MemorySessionStore,
  NoUsableSessionError,
  PoolNotRunningError,
  type Session,
  SessionPool,
  type SessionPoolOptions,
  type SessionRetiredEvent,
} from '../../src/index.js';
import { type CountingSite, MARKER, startCountingSite } from './counting-site.js';

let site: CountingSite;
const pools: SessionPool[] = [];

beforeAll(async () => {
  site = await startCountingSite({ delayMs: 5 });
});
afterAll(() => site.close());
afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.teardown()));
  site.reset();
});

/** A pool whose sessions carry the marker cookie from their first request on. */
async function open(options: SessionPoolOptions<SessionPool> = {}) {
  const pool = await SessionPool.open({
    initSession: (session: Session) => session.setCookie(`${MARKER}=${session.id}`, site.origin),
    ...options,
  });
  pools.push(pool);
  const retired: SessionRetiredEvent[] = [];
  pool.on('sessionRetired', (event) => retired.push(event));
  return { pool, retired };
}

/** A lease being waited for, and whether it has come yet. */
function waitFor(pool: SessionPool) {
  const pending = { lease: undefined as SessionLease | undefined };
  const leased = pool.acquire().then((lease) => {
    pending.lease = lease;
    return lease;
  });
  return { leased, granted: () => pending.lease !== undefined };
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

function usageOfAll(pool: SessionPool, retired: SessionRetiredEvent[]): Map<string, number> {
  const usage = new Map<string, number>();
  for (const event of retired) usage.set(event.state.id, event.state.usageCount);
  for (const session of pool.sessions()) usage.set(session.id, session.usageCount);
  return usage;
}

describe('reserved uses', () => {
  it('spreads concurrent requests over idle sessions: with more idle sessions than requests, none serves two at once', async () => {
    // No limit on concurrency per session, so only the choice of session keeps them apart. Each session is used
    // once first (a never-used session takes one request at a time anyway).
    const { pool } = await open({ maxPoolSize: 40, sessionWaitTimeoutMs: 0 });
    const sessions = await pool.addSessions(40);
    for (const session of sessions) {
      const lease = await pool.acquire({ session });
      lease.markGood();
    }
    for (let round = 0; round < 5; round += 1) {
      await Promise.all(Array.from({ length: 10 }, () => pool.fetch(`${site.origin}/ok`)));
    }
    expect(site.markers().length).toBeGreaterThan(10);
    for (const marker of site.markers()) expect(site.maxInFlight(marker)).toBe(1);
    expect(site.total).toBe(50);
  });

  it('a pool without initSession hands out sessions ready from the start; with one, they start pending', async () => {
    const { pool: plain } = await open({ initSession: undefined });
    expect((await plain.addSession()).readiness).toBe('ready');
    const { pool: initialized } = await open();
    const session = await initialized.addSession();
    expect(session.readiness).toBe('pending');
    (await initialized.acquire({ session })).release('unused');
    expect(session.readiness).toBe('ready');
  });

  it('50 concurrent pool.fetch on maxPoolSize 5, maxUsageCount 7: no session over 7, every request counted once', async () => {
    const { pool, retired } = await open({ maxPoolSize: 5, sessionOptions: { maxUsageCount: 7 } });
    const responses = await Promise.all(Array.from({ length: 50 }, () => pool.fetch(`${site.origin}/ok`)));
    expect(responses.every((response) => response.statusCode === 200)).toBe(true);
    const usage = usageOfAll(pool, retired);
    for (const marker of site.markers()) {
      expect(site.count(marker)).toBeLessThanOrEqual(7);
      expect(usage.get(marker)).toBe(site.count(marker));
    }
    expect(site.total).toBe(50);
    expect(site.unmarked).toBe(0);
    // 50 uses of at most 7 each take at least 8 sessions; the used-up ones retired for maxUsageCount.
    expect(site.markers().length).toBeGreaterThanOrEqual(8);
    expect(retired.every((event) => event.reason === 'maxUsageCount')).toBe(true);
  });

  it('40 concurrent undici fetch through pool.dispatcher on maxUsageCount 5: no session over 5', async () => {
    const { pool } = await open({ maxPoolSize: 4, sessionOptions: { maxUsageCount: 5 } });
    const statuses = await Promise.all(
      Array.from({ length: 40 }, async () => {
        const response = await undiciFetch(`${site.origin}/ok`, { dispatcher: pool.dispatcher });
        await response.arrayBuffer();
        return response.status;
      }),
    );
    expect(statuses.every((status) => status === 200)).toBe(true);
    for (const marker of site.markers()) expect(site.count(marker)).toBeLessThanOrEqual(5);
    expect(site.total).toBe(40);
  });

  it('a session whose reservations fill its remaining uses is not handed out; it expires when the last is released', async () => {
    const { pool, retired } = await open({ maxPoolSize: 1, sessionOptions: { maxUsageCount: 3 } });
    const warmUp = await pool.acquire();
    warmUp.markGood();
    const first = await pool.acquire();
    const second = await pool.acquire();
    expect(second.session).toBe(first.session);
    expect(first.session.reservedUses).toBe(2);
    expect(first.session.actor.getSnapshot().context.reserved).toBe(2);

    const third = waitFor(pool);
    // Crawlee's getSession() does not reserve, but it does not hand out a used-up session either: it waits too.
    const gotten = pool.getSession();
    await nextTurn();
    expect(third.granted()).toBe(false);

    first.markGood();
    expect(first.session.state).toBe('active');
    expect(third.granted()).toBe(false);
    second.markGood();
    expect(retired.map((event) => [event.state.id, event.reason, event.state.usageCount])).toEqual([
      [first.session.id, 'maxUsageCount', 3],
    ]);
    const lease = await third.leased;
    expect(lease.session.id).not.toBe(first.session.id);
    expect((await gotten).id).toBe(lease.session.id);
    lease.markGood();
  });

  it('getSession() keeps Crawlee’s meaning: no use is reserved, markGood() counts it', async () => {
    const { pool } = await open({ maxPoolSize: 1 });
    const session = await pool.getSession();
    const again = await pool.getSession();
    expect(again).toBe(session);
    expect(session.reservedUses).toBe(0);
    session.markGood();
    expect(session.usageCount).toBe(1);
  });

  it('await using releases a lease without outcome as a failure; an explicit outcome wins', async () => {
    const { pool } = await open({ maxPoolSize: 1 });
    let session: Session | undefined;
    {
      await using lease = await pool.acquire();
      session = lease.session;
      expect(session.reservedUses).toBe(1);
    }
    expect(session.reservedUses).toBe(0);
    expect(session.usageCount).toBe(1);
    expect(session.errorScore).toBe(1);
    {
      await using lease = await pool.acquire();
      lease.markGood();
      lease.markBad(); // ignored: the use already ended
      expect(lease.outcome).toBe('good');
    }
    expect(session.usageCount).toBe(2);
    expect(session.errorScore).toBe(0.5);
    const unused = await pool.acquire();
    unused.release('unused');
    expect(session.usageCount).toBe(2);
    expect(pool.reservedUsesCount).toBe(0);
  });

  it('withSession: good when the task resolves, bad when it throws (rethrown), counted without blame when aborted', async () => {
    const { pool } = await open({ maxPoolSize: 1 });
    const text = await pool.withSession(async (_session, { dispatcher }) => {
      const response = await request(`${site.origin}/ok`, { dispatcher });
      return response.body.text();
    });
    expect(text).toBe('200');
    const session = [...pool.sessions()][0] as Session;
    expect([session.usageCount, session.errorScore]).toEqual([1, 0]);

    await expect(
      pool.withSession(async () => {
        throw new Error('captcha');
      }),
    ).rejects.toThrow('captcha');
    expect([session.usageCount, session.errorScore]).toEqual([2, 1]);

    const controller = new AbortController();
    await expect(
      pool.withSession(
        async (_session, { signal, dispatcher }) => {
          controller.abort(new Error('stop'));
          await request(`${site.origin}/slow`, { dispatcher, signal });
        },
        { signal: controller.signal },
      ),
    ).rejects.toThrow('stop');
    expect([session.usageCount, session.errorScore]).toEqual([3, 1]);
    expect(pool.reservedUsesCount).toBe(0);
  });

  it('the marker server sees each request of a withSession / acquire use once: the lease dispatcher reserves nothing more', async () => {
    const { pool } = await open({ maxPoolSize: 1, sessionOptions: { maxUsageCount: 3 } });
    for (let i = 0; i < 3; i += 1) {
      await pool.withSession(async (_session, { dispatcher }) => {
        await (await request(`${site.origin}/ok`, { dispatcher })).body.dump();
      });
    }
    const [marker] = site.markers();
    expect(site.count(marker as string)).toBe(3);
  });

  it('a session’s first use goes alone, so the cookies of a first visit are there for the next request', async () => {
    const { pool } = await open({ maxPoolSize: 1 });
    const first = await pool.acquire();
    const second = waitFor(pool);
    await nextTurn();
    expect(second.granted()).toBe(false);
    first.markGood();
    const [a, b] = [await second.leased, await pool.acquire()];
    expect([a.session, b.session]).toEqual([first.session, first.session]);
    expect(first.session.reservedUses).toBe(2);
    a.markGood();
    b.markGood();
  });

  it('maxConcurrencyPerSession keeps its meaning: a second request waits for the first to end', async () => {
    const { pool } = await open({ maxPoolSize: 1, maxConcurrencyPerSession: 1 });
    (await pool.acquire()).markGood();
    const first = await pool.acquire();
    const second = waitFor(pool);
    await nextTurn();
    expect(second.granted()).toBe(false);
    first.markGood();
    const lease = await second.leased;
    expect(lease.session).toBe(first.session);
    lease.markGood();
  });

  it('an abort while waiting for a session rejects with the reason and leaves nothing reserved', async () => {
    const { pool } = await open({ maxPoolSize: 1, maxConcurrencyPerSession: 1 });
    const held = await pool.acquire();
    const controller = new AbortController();
    const waiting = pool.acquire({ signal: controller.signal });
    const gettingSession = pool.fetch(`${site.origin}/ok`, { signal: controller.signal });
    controller.abort(new Error('crawler stopped'));
    await expect(waiting).rejects.toThrow('crawler stopped');
    await expect(gettingSession).rejects.toThrow('crawler stopped');
    expect(held.session.reservedUses).toBe(1);
    held.markGood();
    expect(pool.reservedUsesCount).toBe(0);
  });

  it('getSession({ signal }) gives up when the signal aborts while every session cools down', async () => {
    const clock = new SimulatedClock();
    clock.set(Date.UTC(2026, 0, 1));
    const { pool } = await open({ maxPoolSize: 1, clock });
    const session = await pool.getSession();
    session.coolDown(clock.now() + 60_000);
    const controller = new AbortController();
    const waiting = pool.getSession({ signal: controller.signal });
    controller.abort(new Error('enough'));
    await expect(waiting).rejects.toThrow('enough');
  });

  it('waits are bounded by sessionWaitTimeoutMs on the pool clock', async () => {
    const clock = new SimulatedClock();
    clock.set(Date.UTC(2026, 0, 1));
    const { pool } = await open({
      maxPoolSize: 1,
      clock,
      maxConcurrencyPerSession: 1,
      sessionWaitTimeoutMs: 1_000,
    });
    const held = await pool.acquire();
    const waiting = pool.acquire();
    const failed = expect(waiting).rejects.toBeInstanceOf(NoUsableSessionError);
    clock.increment(1_000);
    await failed;
    held.markGood();
  });

  it('teardown revokes open leases: their signals abort, their uses are counted in the final write', async () => {
    const store = new MemorySessionStore({ name: 'revoke' });
    const pool = await SessionPool.open({ maxPoolSize: 1, store });
    const lease = await pool.acquire();
    const id = lease.session.id;
    await pool.teardown();
    expect(lease.signal.aborted).toBe(true);
    expect(lease.signal.reason).toBeInstanceOf(PoolNotRunningError);
    expect(lease.outcome).toBe('aborted');
    expect(pool.reservedUsesCount).toBe(0);
    const saved = JSON.parse(store.toJSONText() as string) as {
      sessions: { id: string; usageCount: number; reserved: number }[];
    };
    expect(saved.sessions).toEqual([expect.objectContaining({ id, usageCount: 1, reserved: 0 })]);
  });

  it('a session restored after a crash counts the reservations that were open as uses', async () => {
    const store = new MemorySessionStore({ name: 'crash' });
    const crashed = await SessionPool.open({ maxPoolSize: 1, store, sessionOptions: { maxUsageCount: 5 } });
    pools.push(crashed);
    const a = await crashed.acquire();
    a.markGood();
    await crashed.acquire();
    await crashed.acquire();
    await crashed.persistState();
    // The process dies here: the state as last written is all a new process gets.
    const text = store.toJSONText() as string;
    expect(JSON.parse(text).sessions[0]).toMatchObject({ usageCount: 1, reserved: 2 });

    const { pool } = await open({ store: new MemorySessionStore({ initial: text }), maxPoolSize: 1 });
    const restored = [...pool.sessions()][0] as Session;
    expect(restored.id).toBe(a.session.id);
    expect(restored.usageCount).toBe(3);
    expect(restored.reservedUses).toBe(0);
  });

  it('readiness lives in the machine: pending → initializing → ready, shown in the snapshot and the inspector', async () => {
    const seen: string[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { pool } = await open({
      maxPoolSize: 1,
      initSession: async () => {
        await gate;
      },
      inspect: (event) => {
        const context = (event as { snapshot?: { context?: { readiness?: string; reserved?: number } } })
          .snapshot?.context;
        if (context?.readiness !== undefined) seen.push(`${context.readiness}/${context.reserved}`);
      },
    });
    const leasing = pool.acquire();
    await new Promise((resolve) => setImmediate(resolve));
    const session = [...pool.sessions()][0] as Session;
    expect(session.readiness).toBe('initializing');
    expect(session.getState()).toMatchObject({ readiness: 'initializing', reservedUses: 0 });
    release();
    const lease = await leasing;
    expect(session.readiness).toBe('ready');
    expect(session.reservedUses).toBe(1);
    lease.markGood();
    expect(seen).toEqual(expect.arrayContaining(['pending/0', 'initializing/0', 'ready/0', 'ready/1']));
  });

  it('a failed init is recorded in the machine (initError, reason initFailed)', async () => {
    const { pool, retired } = await open({
      maxPoolSize: 1,
      maxBadInits: 5,
      initSession: () => {
        throw new Error('login refused');
      },
    });
    await expect(pool.acquire({ signal: AbortSignal.timeout(2_000) })).rejects.toThrow();
    expect(retired[0]?.reason).toBe('initFailed');
    expect(retired[0]?.session.initError).toBe('login refused');
    expect(retired[0]?.state.readiness).toBe('pending');
  });
});
