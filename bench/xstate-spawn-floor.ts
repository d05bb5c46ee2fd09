/**
 * What XState itself needs to hold N sessions, with no pool around them: N actors of our own `sessionMachine`
 * spawned under parents of 128 children (the pool's shard size), each parent's children spawned in one `assign`
 * (the cheapest way XState offers), then the root stopped; once with the parents spawned in the root's initial
 * context, once by an event to the running root (as a pool that grows while it runs must). It prints the time to
 * spawn, the time to stop and the heap per actor: the floor under the bench's pre-warm, teardown and heap rows.
 *
 *   node --expose-gc --import tsx bench/xstate-spawn-floor.ts [sessions=100000]
 *
 * Without `indexScheduledEvents` the stop alone is quadratic (XState's scheduler scans every timer of the system
 * for each stopping actor), so the script applies it, as the pool does.
 */
import { createActor, enqueueActions, setup } from 'xstate';
import { type SessionInput, sessionMachine } from '../machines/session.machine.js';
import { indexScheduledEvents } from '../src/indexed-scheduler.js';

const count = Number(process.argv[2] ?? 100_000);
const PER_PARENT = 128;
const now = Date.now();
// Made inside the measured heap, as a pool makes its sessions' inputs (ids, limits) too.
let inputs: SessionInput[] = [];
const makeInputs = (): SessionInput[] =>
  Array.from({ length: count }, (_, index) => ({
    id: `session_${index}`,
    createdAt: now,
    expiresAt: now + 3_000_000,
    maxUsageCount: 50,
    maxErrorScore: 3,
    errorScoreDecrement: 0.5,
    blockedStatusCodes: [401, 403, 429],
    readiness: 'ready',
  }));

const parent = setup({ actors: { session: sessionMachine } }).createMachine({
  context: ({ input, spawn }: { input: { sessions: SessionInput[] }; spawn: SpawnSessions }) => {
    input.sessions.forEach((session, index) => {
      spawn('session', { id: String(index), systemId: session.id, input: session });
    });
    return {};
  },
});
type SpawnSessions = (
  src: 'session',
  options: { id: string; systemId: string; input: SessionInput },
) => unknown;

/** All parents spawned in the root's initial context, before it starts (the cheapest case). */
const atStart = setup({ actors: { parent } }).createMachine({
  context: ({ spawn }) => {
    for (let start = 0; start < count; start += PER_PARENT) {
      spawn('parent', {
        id: String(start / PER_PARENT),
        input: { sessions: inputs.slice(start, start + PER_PARENT) },
      });
    }
    return {};
  },
});

/** The same parents spawned by an event to the running root: what a pool that grows while it runs must do. */
const onEvent = setup({ actors: { parent } }).createMachine({
  on: {
    add: {
      actions: enqueueActions(({ enqueue }) => {
        for (let start = 0; start < count; start += PER_PARENT) {
          enqueue.spawnChild('parent', {
            id: String(start / PER_PARENT),
            input: { sessions: inputs.slice(start, start + PER_PARENT) },
          });
        }
      }),
    },
  },
});

const gc = (globalThis as { gc?: () => void }).gc;
console.log(`${count.toLocaleString('en')} session actors, ${PER_PARENT} per parent, no pool:`);
for (const [name, machine] of [
  ['spawned in the initial context', atStart],
  ['spawned by an event to the running root', onEvent],
] as const) {
  gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  inputs = makeInputs();
  const actor = createActor(machine as typeof onEvent);
  indexScheduledEvents(actor.system);
  let started = performance.now();
  actor.start();
  if (machine === onEvent) actor.send({ type: 'add' });
  const spawnMs = performance.now() - started;
  inputs = [];
  gc?.();
  const perActor = (process.memoryUsage().heapUsed - heapBefore) / count;
  started = performance.now();
  actor.stop();
  const stopMs = performance.now() - started;
  console.log(`  ${name}: spawn ${spawnMs.toFixed(0)} ms, stop ${stopMs.toFixed(0)} ms`);
  console.log(
    `    heap ${gc ? `${perActor.toFixed(0)} B per actor` : 'not measured (run with --expose-gc)'}`,
  );
}
