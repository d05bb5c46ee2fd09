/**
 * A shard supervises a bounded group of session actors on behalf of the pool.
 *
 * Why shards: XState copies a parent's `children` object on every spawn and stop, so one parent with N children
 * pays O(N) per retire-and-replace. With at most `capacity` sessions per shard, that cost stays bounded however
 * large the pool grows (see the benchmarks).
 *
 * A shard spawns the sessions it is given (all of a batch in one `assign`), keeps their ids in order for O(1)
 * selection, stops each session that reaches `retired`, and reports retirements and state changes to the pool.
 */
import { assign, type DoneActorEvent, enqueueActions, sendParent, setup } from 'xstate';
import {
  type SessionContext,
  type SessionInput,
  type SessionStateChangedEvent,
  sessionMachine,
} from './session.machine.js';

export interface ShardInput {
  shardId: string;
  capacity: number;
  sessions: readonly SessionInput[];
}

export interface ShardContext {
  shardId: string;
  capacity: number;
  /** Ids of the live sessions of this shard, in the order they were added. */
  sessionIds: readonly string[];
}

export type ShardEvent =
  | { type: 'shard.addSessions'; sessions: readonly SessionInput[] }
  | SessionStateChangedEvent
  | DoneActorEvent<SessionContext>;

/** Sent to the pool when one of this shard's sessions reaches `retired`. */
export interface SessionRetiredReport {
  type: 'session.retired';
  shardId: string;
  session: SessionContext;
}

export const shardMachine = setup({
  types: {
    context: {} as ShardContext,
    input: {} as ShardInput,
    events: {} as ShardEvent,
  },
  actors: {
    session: sessionMachine,
  },
  actions: {
    spawnSessions: assign(({ context, event, spawn }) => {
      if (event.type !== 'shard.addSessions') return {};
      const added = event.sessions.map((input) => {
        spawn('session', { id: input.id, systemId: input.id, input });
        return input.id;
      });
      return { sessionIds: [...context.sessionIds, ...added] };
    }),
    forgetRetiredSession: enqueueActions(({ context, event, enqueue }) => {
      if (!('output' in event)) return;
      const retiredId = event.output.id;
      enqueue.stopChild(retiredId);
      enqueue.assign({ sessionIds: context.sessionIds.filter((id) => id !== retiredId) });
    }),
    reportRetirement: sendParent(({ context, event }) => ({
      type: 'session.retired',
      shardId: context.shardId,
      session: (event as DoneActorEvent<SessionContext>).output,
    })),
    forwardStateChange: sendParent(({ event }) => event as SessionStateChangedEvent),
  },
}).createMachine({
  id: 'shard',
  context: ({ input, spawn }) => {
    for (const session of input.sessions) {
      spawn('session', { id: session.id, systemId: session.id, input: session });
    }
    return {
      shardId: input.shardId,
      capacity: input.capacity,
      sessionIds: input.sessions.map((session) => session.id),
    };
  },
  on: {
    'shard.addSessions': { actions: 'spawnSessions' },
    'session.stateChanged': { actions: 'forwardStateChange' },
    'xstate.done.actor.*': { actions: ['forgetRetiredSession', 'reportRetirement'] },
  },
});
