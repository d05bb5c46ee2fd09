/**
 * Part 2b, heap bytes per session: `heapUsed` after a full GC, before and after filling a pool of `size`
 * sessions, then after storing 10 cookies in every session's jar. Run with `--expose-gc`, one contender per
 * process (`--contender=`), so nothing another contender allocated is counted.
 */
import { type BenchSession, type ContenderName, openPool } from '../lib/contenders.js';
import { addSample, newRow, type Part } from '../lib/protocol.js';
import { collectGarbage } from '../lib/stats.js';

function heapUsed(): number {
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

export const run: Part = async ({ quick, args }) => {
  const name = (args.contender ?? 'ours') as ContenderName;
  const size = Number(args.size ?? (quick ? 1000 : 20_000));
  const label = size.toLocaleString('en');
  const empty = newRow('heap.empty', `heap per session, empty jar (${label} sessions)`, 'bytes', 'lower');
  const cookies = newRow(
    'heap.cookies10',
    `heap per session, 10 cookies (${label} sessions)`,
    'bytes',
    'lower',
  );

  const sessions: BenchSession[] = new Array(size);
  const pool = await openPool(name, size);
  // One session first, so code paths that allocate once (caches, JIT) are not charged to the others.
  (await pool.getSession()).markGood();
  const before = heapUsed();
  for (let i = 1; i < size; i += 1) sessions[i] = await pool.getSession();
  const filled = heapUsed();
  for (let i = 1; i < size; i += 1) {
    const session = sessions[i]!;
    for (let c = 0; c < 10; c += 1) {
      session.setCookie(`c${c}=${'v'.repeat(16)}${i}; Path=/; Max-Age=86400`, 'http://shop.example.com/');
    }
  }
  const withCookies = heapUsed();
  const perEmpty = (filled - before) / (size - 1);
  const perCookies = (withCookies - before) / (size - 1);
  addSample(empty, name, { wall: perEmpty, cpu: perEmpty });
  addSample(cookies, name, { wall: perCookies, cpu: perCookies });
  if (sessions.length !== size) throw new Error('unreachable');
  await pool.teardown();
  return [empty, cookies];
};
