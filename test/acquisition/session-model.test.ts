/**
 * Model-based: the shortest path to every reachable state of the session machine (xstate/graph), over the events
 * crawler code and the pool send: marks, reservations and their releases, retirement, blocked statuses,
 * cool-downs, readiness and check failures. Each path is replayed through the facade (`session.markGood()`,
 * `pool.acquire()`, `lease.release()`, `pool.send()`, …) on a real pool, and the session it leaves must match the
 * machine's own snapshot, field for field.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import {
  type SessionContext,
  type SessionEvent,
  type SessionInput,
  sessionClock,
  sessionMachine,
  stateNameOf,
} from '../../machines/session.machine.js';
import type { SessionLease } from '../../src/acquisition/lease.js';
import { type Session, SessionPool } from '../../src/index.js';

const NOW = Date.UTC(2026, 0, 1);
const MAX_CONCURRENCY = 2;
const LIMITS = { maxUsageCount: 3, maxErrorScore: 2, errorScoreDecrement: 0.5 };
const BLOCKED = [401, 403, 429];

const INPUT: SessionInput = {
  id: 'model',
  createdAt: NOW,
  expiresAt: NOW + 3_000_000,
  blockedStatusCodes: BLOCKED,
  ...LIMITS,
};

const EVENTS: SessionEvent[] = [
  { type: 'session.markGood' },
  { type: 'session.markBad' },
  { type: 'session.reserve', at: NOW, maxConcurrency: MAX_CONCURRENCY, minDelayMs: 0 },
  { type: 'session.release', outcome: 'good' },
  { type: 'session.release', outcome: 'bad' },
  { type: 'session.release', outcome: 'aborted' },
  { type: 'session.release', outcome: 'unused' },
  { type: 'session.retire', reason: 'manual' },
  { type: 'session.responseStatus', statusCode: 403 },
  { type: 'session.coolDown', until: NOW + 60_000 },
  { type: 'session.initStart' },
  { type: 'session.initDone' },
  { type: 'session.initFail', error: 'login refused' },
  { type: 'session.renewStart' },
  { type: 'session.checkFailed', maxCheckFailures: 2 },
];

/**
 * What identifies a state for the search: the state and the counters that decide transitions. A retired session
 * is one end state per reason (the search would otherwise go on feeding events to a final snapshot).
 */
function keyOf(snapshot: { status: string; value: unknown; context: SessionContext }): string {
  const { value, context } = snapshot;
  if (snapshot.status === 'done') return JSON.stringify(['retired', context.retirementReason]);
  return JSON.stringify([
    stateNameOf(value),
    context.usageCount,
    context.reserved,
    context.errorScore,
    context.readiness,
    context.checkFailures,
    context.blockedUntil,
    context.retirementReason,
  ]);
}

const model = sessionMachine.provide({
  ...sessionClock(() => NOW),
  // The parent notification is the pool's business, not the lifecycle's.
  actions: { notifyStateChange: () => {} },
});

/** Replays one model event through the public API, as crawler code and the pool's own layers would. */
async function replay(pool: SessionPool, session: Session, leases: SessionLease[], event: SessionEvent) {
  switch (event.type) {
    case 'session.markGood':
      session.markGood();
      return;
    case 'session.markBad':
      session.markBad();
      return;
    case 'session.reserve':
      leases.push(await pool.acquire({ session }));
      return;
    case 'session.release':
      leases.pop()?.release(event.outcome);
      return;
    case 'session.retire':
      session.retire();
      return;
    case 'session.responseStatus':
      session.retireOnBlockedStatusCodes(event.statusCode);
      return;
    case 'session.coolDown':
      session.coolDown(new Date(event.until));
      return;
    default:
      pool.send(session.id, event);
  }
}

describe('session machine, model-based', () => {
  const paths = getShortestPaths(model, {
    input: INPUT,
    events: EVENTS,
    serializeState: (snapshot) => keyOf(snapshot as Parameters<typeof keyOf>[0]),
  });

  it('reaches every lifecycle state and the reservation and readiness states', () => {
    const states = new Set(paths.map((path) => stateNameOf(path.state.value)));
    expect([...states].sort()).toEqual(['active', 'blocked', 'degraded', 'fresh', 'retired']);
    const contexts = paths.map((path) => path.state.context as SessionContext);
    expect(contexts.some((context) => context.reserved === MAX_CONCURRENCY)).toBe(true);
    expect(new Set(contexts.map((context) => context.readiness))).toEqual(
      new Set(['pending', 'initializing', 'ready', 'renewing']),
    );
    expect(contexts.some((context) => context.retirementReason === 'checkFailed')).toBe(true);
    expect(contexts.some((context) => context.retirementReason === 'maxUsageCount')).toBe(true);
    // Never more uses reserved than remain, in every state reached when all uses go through reservations (an
    // unreserved mark, Crawlee's getSession() + markGood(), counts on top, by design).
    const reservedOnly = getShortestPaths(model, {
      input: INPUT,
      events: EVENTS.filter((event) => event.type !== 'session.markGood' && event.type !== 'session.markBad'),
      serializeState: (snapshot) => keyOf(snapshot as Parameters<typeof keyOf>[0]),
    }).filter((path) => path.state.status !== 'done');
    const reservedContexts = reservedOnly.map((path) => path.state.context as SessionContext);
    expect(reservedContexts.some((context) => context.reserved === MAX_CONCURRENCY)).toBe(true);
    for (const context of reservedContexts) {
      expect(context.usageCount + context.reserved).toBeLessThanOrEqual(context.maxUsageCount);
      // A session's first use goes alone.
      if (context.usageCount === 0) expect(context.reserved).toBeLessThanOrEqual(1);
    }
    expect(paths.length).toBeGreaterThan(50);
  });

  it('every path, replayed through the facade, leaves the session the machine predicts', async () => {
    const clock = new SimulatedClock();
    clock.set(NOW);
    for (const path of paths) {
      const pool = await SessionPool.open({
        clock,
        maxPoolSize: 1,
        maxConcurrencyPerSession: MAX_CONCURRENCY,
        sessionWaitTimeoutMs: 0,
        blockedStatusCodes: BLOCKED,
        sessionOptions: { ...LIMITS, maxAgeSecs: 3_000 },
        // With an initSession a session starts `pending`, as the model does (without one it starts `ready`).
        initSession: async () => {},
      });
      try {
        const session = await pool.addSession({ id: INPUT.id });
        const leases: SessionLease[] = [];
        for (const step of path.steps) await replay(pool, session, leases, step.event);
        const predicted = path.state.context as SessionContext;
        const actual = session.actor.getSnapshot();
        const label = path.steps.map((step) => step.event.type).join(' → ');
        expect(keyOf(actual), label).toBe(keyOf(path.state as Parameters<typeof keyOf>[0]));
        expect(session.state, label).toBe(stateNameOf(path.state.value));
        if (path.state.status !== 'done') {
          expect([session.usageCount, session.reservedUses, session.readiness], label).toEqual([
            predicted.usageCount,
            predicted.reserved,
            predicted.readiness,
          ]);
        }
      } finally {
        await pool.teardown();
      }
    }
  });
});
