/**
 * The pool supervisor: the root actor of a session pool.
 *
 *   pool (this machine)
 *    ├── shard-0 ── session actors (at most `shardCapacity`)
 *    ├── shard-1 ── …
 *    └── …
 *
 * It places new sessions into shards (never above `maxPoolSize`, never a duplicate id), routes outcome events
 * from crawler code to the right session, and publishes what happens to its sessions as emitted events:
 * `sessionsCreated`, `sessionStateChanged`, `sessionRetired` (exactly once per session), `sessionRejected` and
 * `eventRejected`. Every session is registered in the actor system under its id (`systemId`), which is how both
 * this machine and the facade find it.
 */
import { type ActorSystem, type AnyActorRef, assign, enqueueActions, setup } from 'xstate';
import type {
  RetirementReason,
  SessionContext,
  SessionEvent,
  SessionInput,
  SessionStateChangedEvent,
  SessionStateName,
} from './session.machine.js';
import { type SessionRetiredReport, shardMachine } from './shard.machine.js';

export interface PoolInput {
  maxPoolSize: number;
  /** Sessions per shard; bounds the cost of each spawn and stop. */
  shardCapacity: number;
}

export interface PoolContext {
  maxPoolSize: number;
  shardCapacity: number;
  /** Child ids of the shards, in creation order. */
  shardIds: readonly string[];
  /** Free slots of the shards that have any; kept small so that adding and retiring stay O(1). */
  freeSlots: Readonly<Record<string, number>>;
  sessionCount: number;
  createdCount: number;
  retiredCount: number;
}

export type PoolEvent =
  | { type: 'pool.addSessions'; sessions: readonly SessionInput[] }
  | { type: 'pool.sendToSession'; sessionId: string; event: SessionEvent }
  /** Sets the lifetime counters from a restored state (persistence). */
  | { type: 'pool.restoreCounters'; createdCount: number; retiredCount: number }
  | SessionRetiredReport
  | SessionStateChangedEvent;

/** Events the pool emits; subscribe with `actor.on(type, handler)`. */
export type PoolEmitted =
  | { type: 'sessionsCreated'; sessionIds: readonly string[] }
  | { type: 'sessionStateChanged'; sessionId: string; state: SessionStateName }
  | { type: 'sessionRetired'; sessionId: string; reason: RetirementReason; session: SessionContext }
  | { type: 'sessionRejected'; sessionId: string; reason: 'duplicateId' | 'poolFull' }
  | { type: 'eventRejected'; sessionId: string; eventType: string; reason: 'unknownSession' };

/** The live session actor registered under `sessionId`, if there is one. */
// biome-ignore lint/suspicious/noExplicitAny: the system type of an enqueueActions argument is ActorSystem<any>
export function findSessionRef(system: ActorSystem<any>, sessionId: string): AnyActorRef | undefined {
  const ref = system.get(sessionId) as AnyActorRef | undefined;
  return ref?.src === 'session' && ref.getSnapshot().status === 'active' ? ref : undefined;
}

/** A shard's child id: its number, for the reason session child ids are numbers (see shard.machine.ts). */
function shardIdFor(shardNumber: number): string {
  return String(shardNumber);
}

export const poolMachine = setup({
  types: {
    context: {} as PoolContext,
    input: {} as PoolInput,
    events: {} as PoolEvent,
    emitted: {} as PoolEmitted,
  },
  actors: {
    shard: shardMachine,
  },
  actions: {
    /** Fills shards that have room, then opens new shards; one event per shard, one spawn batch per shard. */
    placeSessions: enqueueActions(({ context, event, system, enqueue }) => {
      if (event.type !== 'pool.addSessions') return;
      const accepted: SessionInput[] = [];
      const seen = new Set<string>();
      let room = context.maxPoolSize - context.sessionCount;
      for (const session of event.sessions) {
        if (seen.has(session.id) || system.get(session.id) !== undefined) {
          enqueue.emit({ type: 'sessionRejected', sessionId: session.id, reason: 'duplicateId' });
        } else if (room <= 0) {
          enqueue.emit({ type: 'sessionRejected', sessionId: session.id, reason: 'poolFull' });
        } else {
          seen.add(session.id);
          accepted.push(session);
          room -= 1;
        }
      }
      if (accepted.length === 0) return;

      const freeSlots = { ...context.freeSlots };
      let next = 0;
      for (const [shardId, free] of Object.entries(context.freeSlots)) {
        if (next >= accepted.length) break;
        const chunk = accepted.slice(next, next + free);
        next += chunk.length;
        if (chunk.length === free) delete freeSlots[shardId];
        else freeSlots[shardId] = free - chunk.length;
        enqueue.sendTo(shardId, { type: 'shard.addSessions', sessions: chunk });
      }
      const opened: string[] = [];
      while (next < accepted.length) {
        const shardId = shardIdFor(context.shardIds.length + opened.length);
        const chunk = accepted.slice(next, next + context.shardCapacity);
        next += chunk.length;
        opened.push(shardId);
        if (chunk.length < context.shardCapacity) freeSlots[shardId] = context.shardCapacity - chunk.length;
        enqueue.spawnChild('shard', {
          id: shardId,
          input: { shardId, capacity: context.shardCapacity, sessions: chunk },
        });
      }
      enqueue.assign({
        // Shard ids are only ever appended: the array is copied only when a shard opens.
        shardIds: opened.length > 0 ? [...context.shardIds, ...opened] : context.shardIds,
        freeSlots,
        sessionCount: context.sessionCount + accepted.length,
        createdCount: context.createdCount + accepted.length,
      });
      // One event per batch: XState drains deferred effects with Array#shift, so 100,000 emits would be quadratic.
      enqueue.emit({ type: 'sessionsCreated', sessionIds: accepted.map((session) => session.id) });
    }),
    /** Unknown and retired ids are rejected here: a `sendTo` to an undefined target would loop back to us. */
    routeToSession: enqueueActions(({ event, system, enqueue }) => {
      if (event.type !== 'pool.sendToSession') return;
      const ref = findSessionRef(system, event.sessionId);
      if (ref) {
        enqueue.sendTo(ref, event.event);
      } else {
        enqueue.emit({
          type: 'eventRejected',
          sessionId: event.sessionId,
          eventType: event.event.type,
          reason: 'unknownSession',
        });
      }
    }),
    recordRetirement: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'session.retired') return;
      enqueue.assign({
        sessionCount: context.sessionCount - 1,
        retiredCount: context.retiredCount + 1,
        freeSlots: { ...context.freeSlots, [event.shardId]: (context.freeSlots[event.shardId] ?? 0) + 1 },
      });
      enqueue.emit({
        type: 'sessionRetired',
        sessionId: event.session.id,
        reason: event.session.retirementReason ?? 'manual',
        session: event.session,
      });
    }),
    restoreCounters: assign(({ event }) =>
      event.type === 'pool.restoreCounters'
        ? { createdCount: event.createdCount, retiredCount: event.retiredCount }
        : {},
    ),
    publishStateChange: enqueueActions(({ event, enqueue }) => {
      if (event.type !== 'session.stateChanged') return;
      enqueue.emit({ type: 'sessionStateChanged', sessionId: event.sessionId, state: event.state });
    }),
  },
}).createMachine({
  id: 'pool',
  context: ({ input }) => ({
    maxPoolSize: input.maxPoolSize,
    shardCapacity: input.shardCapacity,
    shardIds: [],
    freeSlots: {},
    sessionCount: 0,
    createdCount: 0,
    retiredCount: 0,
  }),
  on: {
    'pool.addSessions': { actions: 'placeSessions' },
    'pool.sendToSession': { actions: 'routeToSession' },
    'pool.restoreCounters': { actions: 'restoreCounters' },
    'session.retired': { actions: 'recordRetirement' },
    'session.stateChanged': { actions: 'publishStateChange' },
  },
});
