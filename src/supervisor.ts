/**
 * Wires the machine definitions to a pool's clock: delays are computed from absolute deadlines in context and
 * the pool's `now()`, so a `SimulatedClock` drives expiry and cool-downs in tests.
 */
import { createActor } from 'xstate';
import { poolMachine } from '../machines/pool.machine.js';
import { type SessionContext, sessionClock, sessionMachine } from '../machines/session.machine.js';
import { shardMachine } from '../machines/shard.machine.js';
import type { SessionActorRef } from './session.js';

export function createPoolLogic(now: () => number) {
  const session = sessionMachine.provide(sessionClock(now));
  const shard = shardMachine.provide({ actors: { session } });
  return poolMachine.provide({ actors: { shard } });
}

/**
 * An actor (never started) holding the final snapshot of a session that retired before its handle was made,
 * e.g. one restored already expired, so its handle reads like any other retired session.
 */
export function retiredSessionActor(context: SessionContext): SessionActorRef {
  const snapshot = sessionMachine.resolveState({ value: 'retired', context });
  return createActor(sessionMachine, { snapshot, input: context });
}
