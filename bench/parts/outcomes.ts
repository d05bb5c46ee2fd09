/**
 * Part 1, outcome throughput: `getSession()` + `markGood()`, and a realistic mix (95% good, 3% bad, 2% blocked
 * status code), per second, on a full pool of `size` sessions. Every contender is filled, measured and torn down
 * in turn, in an order that rotates with the round.
 *
 * The pool is opened with limits that never retire a session by age or usage, so "good" measures the hot path
 * alone; in "mix", bad marks and blocked codes retire sessions and the pool replaces them, as in a crawl.
 */
import { createActor } from 'xstate';
import { type BenchSession, CONTENDERS, fillPool, NO_LIMITS, openPool } from '../lib/contenders.js';
import { sessionMachine } from '../lib/library.js';
import { measureRate } from '../lib/measure.js';
import { addSample, newRow, type Part } from '../lib/protocol.js';
import { collectGarbage, rotate, seededRandom } from '../lib/stats.js';

export const run: Part = async ({ quick, args }) => {
  const size = Number(args.size ?? (quick ? 1000 : 10_000));
  const rounds = Number(args.rounds ?? (quick ? 1 : size >= 100_000 ? 3 : 5));
  const durationMs = quick ? 100 : 1000;
  const warmup = quick ? 200 : 5000;
  const good = newRow(
    `outcomes.good@${size}`,
    `getSession + markGood, ${size.toLocaleString('en')} sessions`,
    'ops/s',
    'higher',
  );
  const mix = newRow(
    `outcomes.mix@${size}`,
    `95/3/2 good/bad/blocked mix, ${size.toLocaleString('en')} sessions`,
    'ops/s',
    'higher',
  );

  const spread = newRow(
    `outcomes.xstateSpread@${size}`,
    `XState alone: markGood to a random one of ${size.toLocaleString('en')} session actors (no pool)`,
    'ops/s',
    'higher',
    'XState floor column only: what XState itself does when marks go to many actors (bench/xstate-random-actors.ts); compare with the getSession + markGood row.',
  );

  for (let round = 0; round < rounds; round += 1) {
    for (const name of rotate(CONTENDERS, round)) {
      const pool = await openPool(name, size, NO_LIMITS);
      await fillPool(pool, size);
      collectGarbage();
      addSample(
        good,
        name,
        await measureRate(async () => (await pool.getSession()).markGood(), durationMs, warmup),
      );
      const random = seededRandom(round + 1);
      const outcome = (session: BenchSession) => {
        const draw = random();
        if (draw < 0.95) session.markGood();
        else if (draw < 0.98) session.markBad();
        else session.retireOnBlockedStatusCodes(403);
      };
      addSample(
        mix,
        name,
        await measureRate(async () => outcome(await pool.getSession()), durationMs, warmup),
      );
      await pool.teardown();
      collectGarbage();
    }
    // After the pools, so XState's code is as warm for the floor as for ours.
    for (const [row, count] of [
      [good, 1],
      [spread, size],
    ] as const) {
      const floor = xstateFloor(count);
      addSample(row, 'xstate', await measureRate(floor.send, durationMs, warmup));
      floor.stop();
      collectGarbage();
    }
    const mixFloor = xstateMixFloor(seededRandom(round + 1));
    addSample(mix, 'xstate', await measureRate(mixFloor.send, durationMs, warmup));
    mixFloor.stop();
    collectGarbage();
  }
  return [good, spread, mix];
};

const MARK_GOOD = { type: 'session.markGood' } as const;
const MARK_BAD = { type: 'session.markBad' } as const;
const BLOCKED = { type: 'session.responseStatus', statusCode: 403 } as const;

/** A started actor of our `sessionMachine` with the bench's limits and no parent to notify. */
function floorActor(id: string) {
  const now = Date.now();
  const actor = createActor(sessionMachine.provide({ actions: { notifyStateChange: () => {} } }), {
    input: {
      id,
      createdAt: now,
      expiresAt: now + NO_LIMITS.maxAgeSecs! * 1000,
      maxUsageCount: NO_LIMITS.maxUsageCount!,
      maxErrorScore: 3,
      errorScoreDecrement: 0.5,
      blockedStatusCodes: [401, 403, 429],
      readiness: 'ready',
    },
  });
  actor.start();
  return actor;
}

/**
 * The XState floor of the 95/3/2 mix: the same draws sent straight to one actor, which is replaced by a new one
 * when it retires (as the pools replace a retired session), with no pool around it.
 */
function xstateMixFloor(random: () => number): { send: () => void; stop: () => void } {
  let made = 0;
  let actor = floorActor(`mix_${made}`);
  return {
    send: () => {
      if (actor.getSnapshot().status !== 'active') {
        actor.stop();
        made += 1;
        actor = floorActor(`mix_${made}`);
      }
      const draw = random();
      actor.send(draw < 0.95 ? MARK_GOOD : draw < 0.98 ? MARK_BAD : BLOCKED);
    },
    stop: () => actor.stop(),
  };
}

/**
 * The XState floor: `session.markGood` sent straight to actors of our own `sessionMachine` (one actor for the
 * floor column, a random one of `count` for the spread row), with no pool, no parent and no facade, so "ours vs
 * XState floor" is what the pool adds to the machine's own transition. The parent notification is stubbed, as
 * the actors have no parent to tell.
 */
function xstateFloor(count: number): { send: () => void; stop: () => void } {
  const actors = Array.from({ length: count }, (_, index) => floorActor(`floor_${index}`));
  const only = actors[0]!;
  return {
    send:
      count === 1
        ? () => only.send(MARK_GOOD)
        : () => actors[Math.floor(Math.random() * count)]!.send(MARK_GOOD),
    stop: () => {
      for (const actor of actors) actor.stop();
    },
  };
}
