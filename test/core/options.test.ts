import { describe, expect, it } from 'vitest';
import { InvalidOptionError, SessionPool } from '../../src/index.js';
import { openTestPool } from './helpers.js';

function fieldOf(build: () => unknown): string | undefined {
  try {
    build();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).code).toBe('ERR_INVALID_OPTION');
    return (error as InvalidOptionError).field;
  }
  return undefined;
}

describe('option validation', () => {
  it.each([
    [{ maxPoolSize: 0 }, 'maxPoolSize'],
    [{ maxPoolSize: -5 }, 'maxPoolSize'],
    [{ maxPoolSize: 2.5 }, 'maxPoolSize'],
    [{ maxPoolSize: '10' }, 'maxPoolSize'],
    [{ maxPoolSize: Number.NaN }, 'maxPoolSize'],
    [{ sessionOptions: { maxAgeSecs: -1 } }, 'sessionOptions.maxAgeSecs'],
    [{ sessionOptions: { maxAgeSecs: 0 } }, 'sessionOptions.maxAgeSecs'],
    [{ sessionOptions: { maxAgeSecs: Number.POSITIVE_INFINITY } }, 'sessionOptions.maxAgeSecs'],
    [{ sessionOptions: { maxAgeSecs: 400_000_000 } }, 'sessionOptions.maxAgeSecs'],
    [{ sessionOptions: { maxUsageCount: 0 } }, 'sessionOptions.maxUsageCount'],
    [{ sessionOptions: { maxUsageCount: 'many' } }, 'sessionOptions.maxUsageCount'],
    [{ sessionOptions: { maxErrorScore: 0 } }, 'sessionOptions.maxErrorScore'],
    [{ sessionOptions: { errorScoreDecrement: -0.5 } }, 'sessionOptions.errorScoreDecrement'],
    [{ sessionOptions: { userData: 'x' } }, 'sessionOptions.userData'],
    [{ sessionOptions: { maxAgeSec: 10 } }, 'sessionOptions.maxAgeSec'],
    [{ sessionOptions: 5 }, 'sessionOptions'],
    [{ blockedStatusCodes: 403 }, 'blockedStatusCodes'],
    [{ blockedStatusCodes: [403, 99] }, 'blockedStatusCodes[1]'],
    [{ sessionReuseStrategy: 'lru' }, 'sessionReuseStrategy'],
    [{ createSessionFunction: 'yes' }, 'createSessionFunction'],
    [{ clock: {} }, 'clock'],
    [{ maxCookiesPerSession: 5000 }, 'maxCookiesPerSession'],
    [{ maxPoolsize: 10 }, 'maxPoolsize'],
  ])('rejects %j naming %s', (options, field) => {
    expect(fieldOf(() => new SessionPool(options as never))).toBe(field);
  });

  it('accepts Crawlee’s defaults and exposes them on sessions', async () => {
    const { pool } = await openTestPool();
    const session = await pool.getSession();
    expect(pool.maxPoolSize).toBe(1000);
    expect([session.maxUsageCount, session.maxErrorScore, session.errorScoreDecrement]).toEqual([50, 3, 0.5]);
    expect(session.expiresAt.getTime() - session.createdAt.getTime()).toBe(3_000_000);
    expect(session.retireOnBlockedStatusCodes(429)).toBe(true);
    await pool.teardown();
  });

  it('validates per-session options of addSession and createSessionFunction results', async () => {
    const { pool } = await openTestPool({
      createSessionFunction: () => ({ maxUsageCount: -1 }),
    });
    await expect(pool.addSession({ maxErrorScore: -1 })).rejects.toMatchObject({
      field: 'sessionOptions.maxErrorScore',
    });
    await expect(pool.addSession({ id: '' })).rejects.toMatchObject({ field: 'sessionOptions.id' });
    await expect(pool.getSession()).rejects.toMatchObject({ field: 'sessionOptions.maxUsageCount' });
    expect(pool.sessionsCount).toBe(0);
    await pool.teardown();
  });
});
