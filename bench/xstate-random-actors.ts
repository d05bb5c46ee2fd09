/**
 * What XState itself pays when marks go to many actors instead of one: `session.markGood` sent straight to one
 * actor of our `sessionMachine` (the bench's XState floor), then to a random one of N such actors, with no pool,
 * no parent and no facade. Each send makes a new snapshot and context for its actor; with one actor they die
 * young, with N actors each lives until that actor's next send, so at large N they are promoted and collected by
 * full GCs of a large heap. The ratio between the two rates is XState's own slowdown, the floor under the bench's
 * "getSession + markGood" rows at N sessions.
 *
 *   node --expose-gc --import tsx bench/xstate-random-actors.ts [actors=1000,100000]
 */
import { createActor } from 'xstate';
import { type SessionInput, sessionMachine } from '../machines/session.machine.js';

const sizes = (process.argv[2] ?? '1000,100000').split(',').map(Number);
const machine = sessionMachine.provide({ actions: { notifyStateChange: () => {} } });
const MARK_GOOD = { type: 'session.markGood' } as const;
const now = Date.now();

function startActor(index: number) {
  const input: SessionInput = {
    id: `session_${index}`,
    createdAt: now,
    expiresAt: now + 1_000_000_000,
    maxUsageCount: 1_000_000_000,
    maxErrorScore: 3,
    errorScoreDecrement: 0.5,
    blockedStatusCodes: [401, 403, 429],
    readiness: 'ready',
  };
  const actor = createActor(machine, { input });
  actor.start();
  return actor;
}

/** Sends per second of CPU time over about one second, after a warm-up. */
function rate(send: () => void): number {
  for (let i = 0; i < 50_000; i += 1) send();
  const cpu = process.cpuUsage();
  const started = performance.now();
  let sends = 0;
  while (performance.now() - started < 1000) {
    for (let i = 0; i < 1000; i += 1) send();
    sends += 1000;
  }
  const used = process.cpuUsage(cpu);
  return sends / ((used.user + used.system) / 1e6);
}

const one = startActor(0);
console.log(`one actor: ${Math.round(rate(() => one.send(MARK_GOOD))).toLocaleString('en')} sends/s (CPU)`);
one.stop();
for (const size of sizes) {
  const actors = Array.from({ length: size }, (_, index) => startActor(index));
  const random = Math.round(rate(() => actors[Math.floor(Math.random() * size)]!.send(MARK_GOOD)));
  console.log(
    `a random one of ${size.toLocaleString('en')} actors: ${random.toLocaleString('en')} sends/s (CPU)`,
  );
  for (const actor of actors) actor.stop();
}
