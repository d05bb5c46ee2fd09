/**
 * The `logger` option: what a production log gets from a pool, at which level, with secrets redacted; silent
 * without a logger; a broken logger never breaks the pool.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import {
  attachLogger,
  FileSessionStore,
  InvalidOptionError,
  type Logger,
  type LogLevel,
  SessionPool,
  type SessionPoolOptions,
} from '../../src/index.js';
import { redisFleet } from '../../src/redis/index.js';
import { RedisServer, redisMissing } from '../redis/redis-server.js';

interface Line {
  level: LogLevel;
  record: Record<string, unknown>;
  message: string | undefined;
}

/** A pino-shaped logger that keeps its lines; `level` filters like pino's `isLevelEnabled`. */
function recordingLogger(level: LogLevel = 'debug'): Logger & { lines: Line[] } {
  const order: LogLevel[] = ['debug', 'info', 'warn', 'error'];
  const lines: Line[] = [];
  const write = (at: LogLevel) => (record: object, message?: string) => {
    lines.push({ level: at, record: record as Record<string, unknown>, message });
  };
  return {
    lines,
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    isLevelEnabled: (at) => order.indexOf(at as LogLevel) >= order.indexOf(level),
  };
}

const pools: SessionPool[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const pool of pools.splice(0)) await pool.teardown().catch(() => {});
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function open(options: SessionPoolOptions<SessionPool>) {
  const clock = new SimulatedClock();
  clock.set(Date.UTC(2026, 0, 1));
  const pool = await SessionPool.open({ clock, ...options });
  pools.push(pool);
  return { pool, clock };
}

describe('logger option', () => {
  it('logs retirements with their reason at info, rejections at debug, secrets redacted', async () => {
    const logger = recordingLogger();
    const { pool } = await open({
      logger,
      maxPoolSize: 2,
      proxyUrls: ['http://crawler:hunter2@127.0.0.1:9'],
    });
    const session = await pool.addSession({ id: 'a', userData: { apiToken: 'tok-secret' } });
    session.markBad();
    session.markBad();
    session.markBad();
    session.setCookiesFromResponse({
      url: 'https://crawler:hunter2@www.example.co.uk/',
      headers: { 'set-cookie': ['sid=1; Domain=co.uk'] },
    });
    pool.actor.send({ type: 'pool.sendToSession', sessionId: 'ghost', event: { type: 'session.markGood' } });

    const retired = logger.lines.filter((line) => line.record.event === 'sessionRetired');
    expect(retired).toHaveLength(1);
    expect(retired[0]).toMatchObject({
      level: 'info',
      message: 'session retired',
      record: {
        sessionId: 'a',
        reason: 'blocked',
        errorScore: 3,
      },
    });
    expect(logger.lines.find((line) => line.record.event === 'cookieRejected')).toMatchObject({
      level: 'debug',
      record: { sessionId: 'a', cookieName: 'sid', url: 'https://***@www.example.co.uk/' },
    });
    expect(logger.lines.find((line) => line.record.event === 'eventRejected')).toMatchObject({
      level: 'debug',
      record: { sessionId: 'ghost', eventType: 'session.markGood' },
    });
    const text = JSON.stringify(logger.lines);
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('tok-secret');
  });

  it('logs persistence trouble at warn and a restore at info', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'logger-test-'));
    dirs.push(dir);
    const state = join(dir, 'state');
    const logger = recordingLogger('info');
    const { pool } = await open({ logger, store: new FileSessionStore({ path: join(state, 'STATE.json') }) });
    expect(logger.lines).toContainEqual(
      expect.objectContaining({ level: 'info', record: expect.objectContaining({ event: 'stateRestored' }) }),
    );
    await pool.addSession({ id: 'a' });
    await pool.persistState();
    // Debug lines (each landed write) stay out of an info-level log.
    expect(logger.lines.some((line) => line.level === 'debug')).toBe(false);

    // The state directory turns into a file: every write fails with ENOTDIR, a real I/O error.
    await rm(state, { recursive: true, force: true });
    await writeFile(state, 'not a directory');
    await expect(pool.persistState()).rejects.toMatchObject({ code: 'ERR_PERSIST_WRITE' });
    const warning = logger.lines.find((line) => line.record.event === 'persistError');
    expect(warning).toMatchObject({ level: 'warn', record: { attempt: 1 } });
    expect(warning?.record.err).toMatchObject({ type: 'PersistWriteError', code: 'ERR_PERSIST_WRITE' });
  });

  it('rejects a logger that is not one, and survives a logger that throws', async () => {
    await expect(open({ logger: 'console' as unknown as Logger })).rejects.toThrow(InvalidOptionError);
    await expect(open({ logger: { info: () => {} } as unknown as Logger })).rejects.toThrow(
      /Invalid option "logger".*missing debug,warn,error/,
    );
    const throwing: Logger = {
      debug: () => {
        throw new Error('log sink down');
      },
      info: () => {
        throw new Error('log sink down');
      },
      warn: () => {},
      error: () => {},
    };
    const { pool } = await open({ logger: throwing, maxPoolSize: 1 });
    const session = await pool.getSession();
    session.retire();
    expect((await pool.getSession()).id).not.toBe(session.id);
  });

  it('attachLogger logs a pool that was opened without one, until detached', async () => {
    const { pool } = await open({ maxPoolSize: 3 });
    const logger = recordingLogger();
    const detach = attachLogger(pool, logger, { bindings: { worker: 7 } });
    (await pool.addSession({ id: 'x' })).retire();
    detach();
    (await pool.addSession({ id: 'y' })).retire();
    expect(
      logger.lines.map((line) => [line.record.event, line.record.sessionId, line.record.worker]),
    ).toEqual([['sessionRetired', 'x', 7]]);
  });
});

describe.skipIf(redisMissing())('logger on a fleet pool (real redis-server)', () => {
  it('logs a lost and a restored Redis connection (warn, info) and a lost state, emitted by the pool too', async () => {
    const server = await RedisServer.start();
    const logger = recordingLogger('info');
    const fleet = redisFleet({ redisUrl: server.url, keyPrefix: `logger-test-${process.pid}:` });
    const pool = await SessionPool.open({ maxPoolSize: 2, logger, fleet });
    const heard: string[] = [];
    for (const name of ['connectionLost', 'connectionRestored', 'stateLost'] as const) {
      pool.on(name, () => heard.push(name));
    }
    try {
      const first = await pool.withSession((session) => {
        session.markGood();
        return session.id;
      });
      const restored = new Promise<void>((resolve) => pool.once('connectionRestored', () => resolve()));
      // Without persistence: Redis comes back empty, and the pool hears that its state is gone.
      await server.restart(200);
      await restored;
      // The next use works on a new session: the old one retired with the lost state.
      expect(await pool.withSession((session) => session.id)).not.toBe(first);
      expect(heard[0]).toBe('connectionLost');
      expect(heard).toEqual(expect.arrayContaining(['connectionRestored', 'stateLost']));
      const lines = (event: string) => logger.lines.filter((line) => line.record.event === event);
      expect(lines('connectionLost')).toMatchObject([{ level: 'warn' }]);
      expect(lines('connectionLost')[0]?.record.err).toMatchObject({ message: expect.any(String) });
      expect(lines('connectionRestored')).toMatchObject([{ level: 'info' }]);
      expect(lines('stateLost')).toMatchObject([{ level: 'warn', record: { sessionsLost: 1 } }]);
      expect(lines('sessionRetired')).toMatchObject([{ record: { sessionId: first, reason: 'manual' } }]);
    } finally {
      await pool.teardown();
      await server.close();
    }
  }, 30_000);
});
