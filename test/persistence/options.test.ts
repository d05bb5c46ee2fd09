import { describe, expect, it } from 'vitest';
import { InvalidOptionError, SessionPool, type SessionPoolOptions } from '../../src/index.js';

function optionError(options: Record<string, unknown>): InvalidOptionError {
  try {
    new SessionPool(options as SessionPoolOptions<SessionPool>);
  } catch (error) {
    return error as InvalidOptionError;
  }
  throw new Error('expected the options to be refused');
}

describe('persistence options', () => {
  it.each([
    [{ store: 'redis' }, 'store'],
    [{ store: { location: 'x', load() {} } }, 'store'],
    [{ store: 'file', persistStateKey: '../escape' }, 'persistStateKey'],
    [{ persistStateKey: '' }, 'persistStateKey'],
    [{ persistStateDir: 42 }, 'persistStateDir'],
    [{ persistStateIntervalMillis: -1 }, 'persistStateIntervalMillis'],
    [{ persistStateIntervalMillis: 1.5 }, 'persistStateIntervalMillis'],
    [{ persistStateIntervalMillis: 2 ** 31 }, 'persistStateIntervalMillis'],
    [{ persistenceMode: 'sometimes' }, 'persistenceMode'],
    [{ startFresh: 'yes' }, 'startFresh'],
  ])('refuses %j with an InvalidOptionError naming %s', (options, field) => {
    const error = optionError(options);
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error.field).toBe(field);
    expect(error.message).toContain(field);
  });

  it('without a store, persistState() and resetStore() resolve, so Crawlee-style code keeps working', async () => {
    const pool = new SessionPool();
    await pool.resetStore();
    await pool.initialize();
    await pool.addSession({ id: 'a' });
    await expect(pool.persistState()).resolves.toBeUndefined();
    await pool.teardown();
  });
});
