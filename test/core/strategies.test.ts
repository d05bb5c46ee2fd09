import { afterEach, describe, expect, it } from 'vitest';
import type { InspectionEvent } from 'xstate';
import type { SessionPool } from '../../src/index.js';
import { openTestPool } from './helpers.js';

let pool: SessionPool | undefined;
afterEach(async () => {
  await pool?.teardown();
  pool = undefined;
});

async function fill(options: Parameters<typeof openTestPool>[0]) {
  const opened = await openTestPool(options);
  pool = opened.pool;
  const sessions = [];
  for (let n = 0; n < opened.pool.maxPoolSize; n += 1) sessions.push(await opened.pool.getSession());
  return { ...opened, sessions };
}

describe('session reuse strategies', () => {
  it('random: spreads picks over every session, across shards', async () => {
    const { pool, sessions } = await fill({ maxPoolSize: 20, shardCapacity: 6 });
    const counts = new Map<string, number>();
    for (let draw = 0; draw < 4000; draw += 1) {
      const id = (await pool.getSession()).id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    expect(counts.size).toBe(20);
    for (const session of sessions) {
      // Expected 200 each; a uniform pick stays far inside these bounds.
      expect(counts.get(session.id)).toBeGreaterThan(120);
      expect(counts.get(session.id)).toBeLessThan(290);
    }
  });

  it('round-robin: hands sessions out in order, skipping ones that cannot be used', async () => {
    const { pool, sessions, clock } = await fill({
      maxPoolSize: 5,
      shardCapacity: 2,
      sessionReuseStrategy: 'round-robin',
    });
    const order = [];
    for (let draw = 0; draw < 10; draw += 1) order.push((await pool.getSession()).id);
    const ids = sessions.map((session) => session.id);
    expect(order).toEqual([...ids, ...ids]);
    sessions[1]?.coolDown(clock.now() + 1000);
    const next = [];
    for (let draw = 0; draw < 4; draw += 1) next.push((await pool.getSession()).id);
    expect(next).toEqual([ids[0], ids[2], ids[3], ids[4]]);
  });

  it('use-until-failure: keeps one session until it fails, then moves on', async () => {
    const opened = await openTestPool({ maxPoolSize: 3, sessionReuseStrategy: 'use-until-failure' });
    pool = opened.pool;
    const first = await opened.pool.getSession();
    for (let call = 0; call < 5; call += 1) {
      const again = await opened.pool.getSession();
      expect(again).toBe(first);
      again.markGood();
    }
    first.markBad();
    const second = await opened.pool.getSession();
    expect(second).not.toBe(first);
    expect(await opened.pool.getSession()).toBe(second);
  });
});

describe('inspection', () => {
  it('passes the inspect option to the root actor: every session registers and crawler events show', async () => {
    const events: InspectionEvent[] = [];
    const opened = await openTestPool({
      maxPoolSize: 300,
      shardCapacity: 100,
      inspect: (event) => events.push(event),
    });
    pool = opened.pool;
    const sessions = [];
    for (let n = 0; n < 300; n += 1) sessions.push(await opened.pool.getSession());
    sessions[42]?.markBad();
    const registered = new Set(
      events.filter((event) => event.type === '@xstate.actor').map((event) => event.actorRef.sessionId),
    );
    for (const session of sessions) expect(registered).toContain(session.actor.sessionId);
    expect(registered).toContain(opened.pool.actor.sessionId);
    const marks = events.filter(
      (event) => event.type === '@xstate.event' && event.event.type === 'session.markBad',
    );
    expect(marks.map((event) => event.actorRef.sessionId)).toEqual([sessions[42]?.actor.sessionId]);
  });
});
