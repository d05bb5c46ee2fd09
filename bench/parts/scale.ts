/**
 * Part 2a, supervision at scale: the time to create a pool of `size` sessions (asking for sessions while there is
 * room, as a crawler does), then retire-and-replace churn on the full pool (retire one session, add one), then
 * the time to tear the pool down; and the time to pre-warm a pool of the same size (ours: one `addSessions`
 * batch; Crawlee and the floor: `addSession` in a loop, their fastest way).
 */
import { CONTENDERS, fillPool, openPool } from '../lib/contenders.js';
import { durationSample, measureRate, timed } from '../lib/measure.js';
import { addSample, newRow, type Part } from '../lib/protocol.js';
import { collectGarbage, rotate } from '../lib/stats.js';

export const run: Part = async ({ quick, args }) => {
  const size = Number(args.size ?? (quick ? 1000 : 10_000));
  // A round at 100,000 sessions takes minutes (Crawlee's and our creation alike): two rounds there.
  const rounds = Number(args.rounds ?? (quick ? 1 : size >= 100_000 ? 2 : 3));
  const durationMs = quick ? 100 : 2000;
  const label = size.toLocaleString('en');
  const create = newRow(`scale.create@${size}`, `create a pool of ${label} sessions`, 'ms', 'lower');
  const churn = newRow(`scale.churn@${size}`, `retire-and-replace, ${label} sessions`, 'ops/s', 'higher');
  const prewarm = newRow(`scale.prewarm@${size}`, `pre-warm a pool of ${label} sessions`, 'ms', 'lower');
  const teardown = newRow(
    `scale.teardown@${size}`,
    `teardown of ${label} sessions`,
    'ms',
    'lower',
    'Crawlee and the floor have no actors to stop: their teardown is near zero by construction.',
  );

  for (let round = 0; round < rounds; round += 1) {
    for (const name of rotate(CONTENDERS, round)) {
      collectGarbage();
      const created = await timed(async () => {
        const pool = await openPool(name, size);
        await fillPool(pool, size);
        return pool;
      });
      const pool = created.result;
      addSample(create, name, durationSample(created));
      if (pool.size() !== size)
        throw new Error(`${name}: expected ${size} sessions after filling, got ${pool.size()}`);
      collectGarbage();
      const replace = async () => {
        (await pool.getSession()).retire();
        await pool.addSession();
      };
      addSample(churn, name, await measureRate(replace, durationMs, quick ? 50 : 500, 50));
      if (pool.size() !== size) throw new Error(`${name}: churn changed the pool size to ${pool.size()}`);
      addSample(teardown, name, durationSample(await timed(() => pool.teardown())));

      collectGarbage();
      const warmed = await timed(async () => {
        const fresh = await openPool(name, size);
        await fresh.prewarm(size);
        return fresh;
      });
      addSample(prewarm, name, durationSample(warmed));
      if (warmed.result.size() !== size)
        throw new Error(`${name}: expected ${size} sessions after pre-warming, got ${warmed.result.size()}`);
      await warmed.result.teardown();
    }
  }
  return [create, prewarm, churn, teardown];
};
