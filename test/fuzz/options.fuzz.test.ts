/**
 * Fuzzing `new SessionPool(options)`: random values (of any type, and hostile numbers) under every option name
 * and a few unknown ones. The constructor either throws `InvalidOptionError` naming a field of the options, or
 * builds a pool that initializes, hands out a session and tears down. Never any other error.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HTTP_OPTION_NAMES } from '../../src/http/options.js';
import { InvalidOptionError, SessionPool, SessionSupervisorError } from '../../src/index.js';
import { CORE_POOL_OPTION_NAMES } from '../../src/options.js';
import { fuzzParameters, fuzzTimeout } from './fuzz-config.js';

// Persistence options are left out: a fuzzed `store: 'file'` would write into the working directory.
const POOL_OPTION_NAMES = [
  ...CORE_POOL_OPTION_NAMES,
  ...HTTP_OPTION_NAMES,
  'notAnOption',
  '__proto__',
  'constructor',
];
const SESSION_OPTION_NAMES = [
  'id',
  'maxAgeSecs',
  'maxUsageCount',
  'maxErrorScore',
  'errorScoreDecrement',
  'userData',
];

const hostile = fc.oneof(
  fc.anything({ maxDepth: 2 }),
  fc.constantFrom(
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    -1,
    0,
    0.5,
    1,
    2 ** 31,
    2 ** 53,
    1e300,
    -0,
    '3',
    '',
    null,
    [],
    [403, '429'],
    [NaN],
    'round-robin',
    'coolDown',
    'http://user:pass@127.0.0.1:9/',
  ),
  fc.double(),
  fc.integer(),
);

const sessionOptions = fc.dictionary(fc.constantFrom(...SESSION_OPTION_NAMES, 'bogus'), hostile, {
  maxKeys: 4,
});

const options = fc.dictionary(fc.constantFrom(...POOL_OPTION_NAMES), fc.oneof(hostile, sessionOptions), {
  maxKeys: 4,
});

describe('fuzz: pool options', () => {
  it(
    'new SessionPool(options) throws InvalidOptionError naming a field, or gives a working pool',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.oneof(options, hostile), async (input) => {
          let pool: SessionPool;
          try {
            pool = new SessionPool(input as never);
          } catch (error) {
            expect(error).toBeInstanceOf(InvalidOptionError);
            expect(typeof (error as InvalidOptionError).field).toBe('string');
            return;
          }
          const clockless = typeof input === 'object' && input !== null && !('clock' in input);
          // A pool built from these options must work; one on a fuzzed clock is only torn down.
          try {
            if (clockless) {
              await pool.initialize();
              const session = await pool.getSession();
              session.markGood();
              JSON.stringify(pool.getState());
            }
          } catch (error) {
            expect(error).toBeInstanceOf(SessionSupervisorError);
          } finally {
            await pool.teardown();
          }
        }),
        fuzzParameters(200),
      );
    },
    fuzzTimeout(200, 50),
  );
});
