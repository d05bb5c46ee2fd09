/**
 * Deadlines longer than a timer can wait (2^31-1 ms, about 24.8 days): cool-downs and `maxAgeSecs` of a month
 * hold, live and after a restore, and a deadline that is not a date is refused. The simulated clock here treats
 * delays the way Node's `setTimeout` does (one above 2^31-1 ms fires after 1 ms), so a machine that asked for
 * the whole delay at once would end a month-long cool-down at once.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { MAX_TIMER_DELAY_MS } from '../../machines/session.machine.js';
import {
  type Clock,
  InvalidOptionError,
  MemorySessionStore,
  type SessionPoolOptions,
} from '../../src/index.js';
import { usePoolPerTest } from './helpers.js';

const DAY = 24 * 3600 * 1000;
const openPool = usePoolPerTest();

/** A simulated clock with Node's timer limit. */
function nodeLikeClock(at = Date.UTC(2026, 0, 1)) {
  const simulated = new SimulatedClock();
  simulated.set(at);
  const clock: Clock & { increment(ms: number): void; set(at: number): void } = {
    now: () => simulated.now(),
    setTimeout: (callback, delayMs) =>
      simulated.setTimeout(callback, delayMs > MAX_TIMER_DELAY_MS ? 1 : delayMs),
    clearTimeout: (handle) => simulated.clearTimeout(handle as never),
    increment: (ms) => simulated.increment(ms),
    set: (time) => simulated.set(time),
  };
  return clock;
}

async function open(options: SessionPoolOptions = {}) {
  const clock = nodeLikeClock();
  const opened = await openPool({ ...options, clock });
  return { ...opened, clock };
}

describe('long deadlines', () => {
  it('a 30-day cool-down outlasts one timer step and ends on day 30', async () => {
    const { pool, clock } = await open({ sessionOptions: { maxAgeSecs: 60 * 24 * 3600 } });
    const session = await pool.addSession();
    session.coolDown(clock.now() + 30 * DAY);
    clock.increment(MAX_TIMER_DELAY_MS + 1);
    expect(session.state).toBe('blocked');
    clock.increment(29 * DAY - MAX_TIMER_DELAY_MS - 1);
    expect(session.state).toBe('blocked');
    clock.increment(DAY);
    expect(session.state).toBe('active');
  });

  it('maxAgeSecs of a month expires on day 31, not after one timer step', async () => {
    const { pool, clock, retired } = await open({ sessionOptions: { maxAgeSecs: 31 * 24 * 3600 } });
    const session = await pool.addSession();
    clock.increment(25 * DAY);
    expect(session.state).toBe('fresh');
    clock.increment(6 * DAY - 1);
    expect(retired).toHaveLength(0);
    clock.increment(1);
    expect(retired.map((event) => event.reason)).toEqual(['expired']);
  });

  it('a long cool-down and a long maxAge are re-armed in steps after a restore', async () => {
    const store = new MemorySessionStore({ name: 'long' });
    const first = await open({ store, sessionOptions: { maxAgeSecs: 40 * 24 * 3600 } });
    const session = await first.pool.addSession({ id: 'long' });
    session.coolDown(first.clock.now() + 30 * DAY);
    await first.pool.persistState();
    const text = store.toJSONText() as string;
    await first.pool.teardown();

    const second = await open({ store: new MemorySessionStore({ initial: text }) });
    second.clock.set(first.clock.now());
    const restored = await second.pool.getSession('long');
    expect(restored?.state).toBe('blocked');
    second.clock.increment(MAX_TIMER_DELAY_MS + 1);
    expect(restored?.state).toBe('blocked');
    second.clock.increment(30 * DAY - MAX_TIMER_DELAY_MS);
    expect(restored?.state).toBe('active');
    second.clock.increment(10 * DAY);
    expect(second.retired.map((event) => [event.state.id, event.reason])).toEqual([['long', 'expired']]);
  });

  it('refuses a cool-down that is not a finite date within ten years, naming the field', async () => {
    const { pool, clock } = await open();
    const session = await pool.addSession();
    for (const bad of [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      new Date('garbage'),
      clock.now() + 11 * 365 * DAY,
    ]) {
      expect(() => session.coolDown(bad as number)).toThrow(InvalidOptionError);
      try {
        session.coolDown(bad as number);
      } catch (error) {
        expect((error as InvalidOptionError).field).toBe('until');
      }
    }
    expect(session.state).toBe('fresh');
    expect(() => JSON.stringify(pool.getState())).not.toThrow();
  });

  it('accepts maxAgeSecs up to ten years and refuses more', async () => {
    const { pool } = await open();
    await expect(pool.addSession({ maxAgeSecs: 10 * 365 * 24 * 3600 })).resolves.toBeDefined();
    await expect(pool.addSession({ maxAgeSecs: 10 * 365 * 24 * 3600 + 1 })).rejects.toBeInstanceOf(
      InvalidOptionError,
    );
  });
});
