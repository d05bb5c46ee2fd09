import { request, fetch as undiciFetch } from 'undici';
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { type Session, SessionPoolGroup, TooManyBadInitsError } from '../../src/index.js';
import { echoCookies, useCleanup } from './helpers.js';

const { open, site, defer } = useCleanup();

describe('initSession', () => {
  it('runs once per fresh session before it is handed out, with requests that apply no outcome', async () => {
    let logins = 0;
    const server = await site({
      '/login': (_req, res) => {
        logins += 1;
        res.writeHead(200, { 'set-cookie': `token=t${logins}` }).end();
      },
      '/echo': echoCookies,
    });
    const seenStates: string[] = [];
    const pool = await open({
      maxPoolSize: 2,
      initSession: async (session, { fetch }) => {
        seenStates.push(session.state);
        await fetch(`${server.origin}/login`);
      },
    });
    const results = await Promise.all(Array.from({ length: 6 }, () => pool.fetch(`${server.origin}/echo`)));
    expect(logins).toBe(2);
    expect(seenStates).toEqual(['fresh', 'fresh']);
    for (const response of results) expect(response.text()).toMatch(/^token=t[12]$/);
    // The login request did not count as a use.
    const usage = [...pool.sessions()].reduce((sum, s) => sum + s.usageCount, 0);
    expect(usage).toBe(6);
  });

  it('retires sessions whose init fails, and after maxBadInits fails every waiting caller with a typed error', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      let inits = 0;
      const pool = await open({
        maxPoolSize: 2,
        maxBadInits: 3,
        initSession: async () => {
          inits += 1;
          throw new Error('login page changed');
        },
      });
      const retired: string[] = [];
      pool.on('sessionRetired', (event) => retired.push(event.reason));
      const callers = await Promise.allSettled([
        pool.fetch('http://127.0.0.1:9/a'),
        pool.getSession(),
        pool.fetch('http://127.0.0.1:9/b'),
      ]);
      for (const result of callers) {
        expect(result.status).toBe('rejected');
        expect((result as PromiseRejectedResult).reason).toBeInstanceOf(TooManyBadInitsError);
      }
      // Inits already running when the third failure lands may finish too (two sessions init at once).
      expect(inits).toBeGreaterThanOrEqual(3);
      expect(inits).toBeLessThanOrEqual(4);
      expect(retired.every((reason) => reason === 'initFailed')).toBe(true);
      await expect(pool.getSession()).rejects.toMatchObject({ code: 'ERR_TOO_MANY_BAD_INITS' });
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('resets the bad-init streak on a success', async () => {
    let attempt = 0;
    const pool = await open({
      maxPoolSize: 1,
      maxBadInits: 2,
      initSession: () => {
        attempt += 1;
        return attempt % 2 === 0; // fail, succeed, fail, succeed…
      },
    });
    const first = await pool.getSession();
    first.retire();
    const second = await pool.getSession();
    expect(second).not.toBe(first);
    expect(attempt).toBe(4);
  });
});

describe('renewal', () => {
  it('clears the jar and re-inits while concurrent requests wait, then serves them with the new cookies', async () => {
    let generation = 0;
    let releaseLogin: (() => void) | undefined;
    const server = await site({
      '/login': (_req, res) => {
        generation += 1;
        const send = () => res.writeHead(200, { 'set-cookie': `gen=${generation}` }).end();
        if (generation === 2) releaseLogin = send;
        else send();
      },
      '/echo': (req, res) => res.writeHead(200, { 'set-cookie': 'stale=1' }).end(req.headers.cookie ?? ''),
    });
    const pool = await open({
      maxPoolSize: 1,
      initSession: async (_session, { fetch }) => {
        await fetch(`${server.origin}/login`);
      },
    });
    const session = await pool.getSession();
    expect((await pool.fetch(`${server.origin}/echo`, { session })).text()).toBe('gen=1');
    const renewal = pool.renewSession(session.id);
    const during = Array.from({ length: 20 }, () => pool.fetch(`${server.origin}/echo`, { session }));
    while (!releaseLogin) await new Promise((resolve) => setImmediate(resolve));
    releaseLogin();
    await renewal;
    const bodies = (await Promise.all(during)).map((response) => response.text());
    expect(
      bodies.every((body) => body === 'gen=2' || body === 'gen=2; stale=1' || body === 'stale=1; gen=2'),
    ).toBe(true);
    expect(session.state).toBe('active');
  });
});

describe('pacing', () => {
  it('serves at most maxConcurrencyPerSession requests of one session at once', async () => {
    let inFlight = 0;
    let peak = 0;
    const server = await site({
      '/slow': (_req, res) => {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        setTimeout(() => {
          inFlight -= 1;
          res.writeHead(200).end('ok');
        }, 5);
      },
    });
    const pool = await open({ maxPoolSize: 2, maxConcurrencyPerSession: 2 });
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => pool.fetch(`${server.origin}/slow`)),
    );
    expect(responses.every((r) => r.statusCode === 200)).toBe(true);
    expect(peak).toBeLessThanOrEqual(4);
    expect(new Set(responses.map((r) => r.session.id)).size).toBe(2);
  });

  it('spaces the uses of one session by minDelayBetweenUsesMs on the pool clock', async () => {
    const server = await site({ '/p': (_req, res) => res.writeHead(200).end('ok') });
    const clock = new SimulatedClock();
    clock.set(Date.now());
    const pool = await open({ maxPoolSize: 1, minDelayBetweenUsesMs: 1000, clock });
    await pool.fetch(`${server.origin}/p`);
    let second = false;
    const pending = pool.fetch(`${server.origin}/p`).then(() => {
      second = true;
    });
    for (let i = 0; i < 5; i += 1) await new Promise((resolve) => setImmediate(resolve));
    expect(second).toBe(false);
    expect(server.log).toHaveLength(1);
    clock.increment(1000);
    await pending;
    expect(server.log).toHaveLength(2);
  });
});

describe('dispatchers', () => {
  it('pool.dispatcher picks sessions, keeps one session across redirects followed by fetch, and reports outcomes', async () => {
    const server = await site({
      '/start': (_req, res) => res.writeHead(302, { location: '/end', 'set-cookie': 'hop=1' }).end(),
      '/end': echoCookies,
      '/deny': (_req, res) => res.writeHead(403).end(),
    });
    const pool = await open({ maxPoolSize: 3 });
    const bodies = await Promise.all(
      Array.from({ length: 6 }, async () =>
        (await undiciFetch(`${server.origin}/start`, { dispatcher: pool.dispatcher })).text(),
      ),
    );
    expect(bodies).toEqual(Array(6).fill('hop=1'));
    const used = [...pool.sessions()].reduce((sum, s) => sum + s.usageCount, 0);
    expect(used).toBe(6);
    const denied = await request(`${server.origin}/deny`, { dispatcher: pool.dispatcher });
    await denied.body.dump();
    expect(denied.statusCode).toBe(403);
    expect(pool.retiredSessionsCount).toBe(1);
  });

  it('session.dispatcher reports outcomes to its own session', async () => {
    const server = await site({ '/boom': (_req, res) => res.writeHead(500).end() });
    const pool = await open({ maxPoolSize: 1 });
    const session: Session = await pool.getSession();
    const response = await request(`${server.origin}/boom`, { dispatcher: session.dispatcher });
    await response.body.dump();
    expect(session.errorScore).toBe(1);
  });
});

describe('SessionPoolGroup', () => {
  it('keeps one pool per origin, each with its own options, created on first use', async () => {
    const a = await site({
      '/': echoCookies,
      '/set': (_req, res) => res.writeHead(200, { 'set-cookie': 'a=1' }).end(),
    });
    const b = await site({ '/': echoCookies });
    const group = new SessionPoolGroup({
      poolOptions: (key) => ({ maxPoolSize: key === a.origin ? 1 : 5 }),
    });
    defer(() => group.teardown());
    expect(group.keys()).toEqual([]);
    await group.fetch(`${a.origin}/set`);
    await Promise.all([group.fetch(`${b.origin}/`), group.fetch(`${b.origin}/`)]);
    expect(group.keys().sort()).toEqual([a.origin, b.origin].sort());
    expect((await group.poolFor(a.origin)).maxPoolSize).toBe(1);
    expect((await group.poolFor(b.origin)).maxPoolSize).toBe(5);
    expect(await group.poolFor(`${a.origin}/other`)).toBe(await group.poolFor(a.origin));
    const viaDispatcher = await request(`${a.origin}/`, { dispatcher: group.dispatcher });
    expect(await viaDispatcher.body.text()).toBe('a=1');
  });
});
