/**
 * Wires the machine definitions to a pool's clock: delays are computed from absolute deadlines in context and
 * the pool's `now()`, so a `SimulatedClock` drives expiry and cool-downs in tests.
 */
import { poolMachine } from '../machines/pool.machine.js';
import { type SessionContext, sessionDelays, sessionMachine } from '../machines/session.machine.js';
import { shardMachine } from '../machines/shard.machine.js';
import type { SessionRef } from './session.js';

export function createPoolLogic(now: () => number) {
  const session = sessionMachine.provide({ delays: sessionDelays(now) });
  const shard = shardMachine.provide({ actors: { session } });
  return poolMachine.provide({ actors: { shard } });
}

/** A stand-in ref for a session that retired before its handle was made (e.g. restored already expired). */
export function detachedSessionRef(context: SessionContext): SessionRef {
  const snapshot = { status: 'done', value: 'retired', context };
  return {
    getSnapshot: () => snapshot,
    send: () => {},
  };
}
