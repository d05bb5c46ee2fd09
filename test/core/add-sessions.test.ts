/** `addSessions`: all or none, room checked before anything is built, bad arguments named. */
import { describe, expect, it } from 'vitest';
import { InvalidOptionError, PoolFullError } from '../../src/index.js';
import { usePoolPerTest } from './helpers.js';

const open = usePoolPerTest();

describe('addSessions', () => {
  it('refuses a batch larger than the room left before building any session', async () => {
    let built = 0;
    const { pool } = await open({
      maxPoolSize: 10,
      createSessionFunction: () => {
        built += 1;
        return {};
      },
    });
    await pool.addSessions(4);
    expect(built).toBe(4);
    await expect(pool.addSessions(5_000_000)).rejects.toBeInstanceOf(PoolFullError);
    await expect(pool.addSessions(1e9)).rejects.toBeInstanceOf(PoolFullError);
    await expect(pool.addSessions(7)).rejects.toBeInstanceOf(PoolFullError);
    expect(built).toBe(4);
    expect(pool.sessionsCount).toBe(4);
    await expect(pool.addSessions(6)).resolves.toHaveLength(6);
  });

  it('names the argument when it is neither a count nor an array of options', async () => {
    const { pool } = await open({ maxPoolSize: 10 });
    for (const bad of ['3', null, { count: 3 }, -1, 1.5, Number.NaN]) {
      const error = await pool.addSessions(bad as never).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect((error as InvalidOptionError).field).toMatch(/^(countOrOptions|count)$/);
    }
    expect(pool.sessionsCount).toBe(0);
  });
});
