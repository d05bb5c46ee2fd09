/**
 * A shard supervises a bounded group of session actors on behalf of the pool.
 *
 * Why shards: XState copies a parent's `children` object on every spawn and stop, so one parent with N children
 * pays O(N) per retire-and-replace. With at most `capacity` sessions per shard, that cost stays bounded however
 * large the pool grows (see the benchmarks).
 *
 * A shard spawns the sessions it is given (all of a batch in one `assign`) into numbered slots, stops each session
 * that reaches `retired`, frees its slot, and reports retirements and state changes to the pool.
 *
 * Why slots: a session's child id is its slot number (`'7'`), the same names in every shard, while its `systemId`
 * is its session id. XState copies `children` with an object spread on every spawn and stop. Unique child ids made
 * V8 build a hidden class per distinct set of names (6x slower teardown at 50,000); named slots (`slot-7`) still
 * put `children` in dictionary mode after the first stop, where V8 copies each property about 50 times slower
 * than it copies the indexed elements that numeric ids make (bench/xstate-stop-children.ts).
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
  /** The session id in each slot (child id: the slot number), or null for a free slot; O(1) selection by index. */
  slots: readonly (string | null)[];
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

type SessionSpawner = (input: SessionInput, slot: number) => void;

/** Fills free slots first, then appends; returns the new slot table. */
function fillSlots(
  slots: readonly (string | null)[],
  sessions: readonly SessionInput[],
  spawnInSlot: SessionSpawner,
): (string | null)[] {
  const next = [...slots];
  let free = next.indexOf(null);
  for (const session of sessions) {
    const slot = free === -1 ? next.length : free;
    next[slot] = session.id;
    spawnInSlot(session, slot);
    if (free !== -1) free = next.indexOf(null, free + 1);
  }
  return next;
}

/** The child id of the session in `slot`. */
export function slotChildId(slot: number): string {
  return String(slot);
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
      return {
        slots: fillSlots(context.slots, event.sessions, (input, slot) => {
          spawn('session', { id: slotChildId(slot), systemId: input.id, input });
        }),
      };
    }),
    forgetRetiredSession: enqueueActions(({ context, event, enqueue }) => {
      if (!('output' in event)) return;
      const slot = context.slots.indexOf(event.output.id);
      enqueue.stopChild(event.actorId);
      if (slot !== -1) enqueue.assign({ slots: context.slots.with(slot, null) });
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
  context: ({ input, spawn }) => ({
    shardId: input.shardId,
    capacity: input.capacity,
    slots: fillSlots([], input.sessions, (session, slot) => {
      spawn('session', { id: slotChildId(slot), systemId: session.id, input: session });
    }),
  }),
  on: {
    'shard.addSessions': { actions: 'spawnSessions' },
    'session.stateChanged': { actions: 'forwardStateChange' },
    'xstate.done.actor.*': { actions: ['forgetRetiredSession', 'reportRetirement'] },
  },
});
