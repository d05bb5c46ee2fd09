import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import {
  InvalidOptionError,
  RequestFailedError,
  RequestTimeoutError,
  ResponseTooLargeError,
  SessionBlockedError,
  SessionPool,
  type SessionRetiredEvent,
  SessionRotationsExhaustedError,
  TooManyRedirectsError,
} from '../../src/index.js';
import { startSite, type TestServer, useCleanup } from './helpers.js';

const { open, defer } = useCleanup();

/** Routes: /status/NNN answers NNN; /hang never answers; /cut closes mid-body; /loop redirects to itself. */
async function faultySite(): Promise<TestServer> {
  const server = await startSite({
    '/status': (_req, res, url) => {
      const code = Number(url.searchParams.get('code'));
      const headers: Record<string, string> = {};
      if (url.searchParams.has('retryAfter'))
        headers['retry-after'] = url.searchParams.get('retryAfter') as string;
      if (code >= 300 && code < 400) headers.location = '/status?code=200';
      res.writeHead(code, headers).end(`status ${code}`);
    },
    '/hang': () => {},
    '/cut': (_req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('partial');
      setImmediate(() => res.socket?.destroy());
    },
    '/loop': (_req, res) => res.writeHead(302, { location: '/loop' }).end(),
    '/hop': (_req, res, url) => {
      const n = Number(url.searchParams.get('n'));
      res.writeHead(302, { location: `/hop?n=${n + 1}` }).end();
    },
    '/big': (_req, res) => res.writeHead(200).end(Buffer.alloc(5000)),
    '/captcha': (_req, res) => res.writeHead(200).end('<title>captcha</title>'),
    '/fine': (_req, res) => res.writeHead(200).end('<title>fine</title>'),
  });
  defer(() => server.close());
  return server;
}

describe('outcome classification', () => {
  it('marks 2xx, 3xx and non-blocked 4xx good, 5xx bad, and retires on blocked codes', async () => {
    const site = await faultySite();
    const pool = await open({ maxPoolSize: 1, maxSessionRotations: 0 });
    const session = await pool.getSession();
    for (const code of [200, 204, 302, 404]) {
      const response = await pool.fetch(`${site.origin}/status?code=${code}`, { session });
      expect(response.statusCode).toBe(code === 302 ? 200 : code);
    }
    expect(session.usageCount).toBe(4);
    expect(session.errorScore).toBe(0);
    await expect(pool.fetch(`${site.origin}/status?code=503`, { session })).rejects.toBeInstanceOf(
      SessionRotationsExhaustedError,
    );
    expect(session.errorScore).toBe(1);
    expect(session.state).toBe('degraded');
    const retired: SessionRetiredEvent[] = [];
    pool.on('sessionRetired', (event) => retired.push(event));
    const blocked = pool.fetch(`${site.origin}/status?code=403`, { session });
    await expect(blocked).rejects.toBeInstanceOf(SessionBlockedError);
    await expect(blocked).rejects.toMatchObject({ statusCode: 403, sessionId: session.id });
    expect(session.state).toBe('retired');
    expect(retired.map((event) => event.reason)).toEqual(['blockedStatusCode']);
    // A retired session is never resurrected by a late mark.
    session.markGood();
    expect(session.state).toBe('retired');
  });

  it('marks network failures, timeouts, bodies cut short and redirect loops bad, with typed errors', async () => {
    const site = await faultySite();
    const pool = await open({
      maxPoolSize: 1,
      maxSessionRotations: 0,
      sessionOptions: { maxErrorScore: 10 },
    });
    const session = await pool.getSession();
    const fail = async (path: string, timeoutMs?: number) => {
      const error = await pool
        .fetch(`${site.origin}${path}`, { session, timeoutMs })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SessionRotationsExhaustedError);
      return (error as SessionRotationsExhaustedError).cause;
    };
    expect(await fail('/hang', 200)).toBeInstanceOf(RequestTimeoutError);
    expect(await fail('/cut')).toBeInstanceOf(RequestFailedError);
    expect(await fail('/loop')).toBeInstanceOf(TooManyRedirectsError);
    expect(session.errorScore).toBe(3);
  });

  it('stops after maxRedirections hops with TooManyRedirectsError', async () => {
    const site = await faultySite();
    const pool = await open({ maxPoolSize: 1, maxSessionRotations: 0, maxRedirections: 3 });
    const error = await pool.fetch(`${site.origin}/hop?n=0`).catch((e: unknown) => e);
    expect((error as SessionRotationsExhaustedError).cause).toBeInstanceOf(TooManyRedirectsError);
  });

  it('rejects bodies over maxBodyBytes without blaming the session', async () => {
    const site = await faultySite();
    const pool = await open({ maxPoolSize: 1, maxBodyBytes: 1000 });
    const session = await pool.getSession();
    await expect(pool.fetch(`${site.origin}/big`, { session })).rejects.toBeInstanceOf(ResponseTooLargeError);
    expect(session.errorScore).toBe(0);
    const small = await pool.fetch(`${site.origin}/fine`, { session });
    expect(small.text()).toBe('<title>fine</title>');
  });

  it('rejects invalid URLs and bad per-call options with InvalidOptionError naming the field', async () => {
    const pool = await open({ maxPoolSize: 1 });
    await expect(pool.fetch('not a url')).rejects.toMatchObject({ field: 'url' });
    await expect(pool.fetch('ftp://127.0.0.1/x')).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(pool.fetch('http://127.0.0.1/', { timeoutMs: -1 })).rejects.toMatchObject({
      field: 'timeoutMs',
    });
    expect(() => new SessionPool({ maxSessionRotations: -1 })).toThrow(InvalidOptionError);
    expect(() => new SessionPool({ retryAfterPolicy: 'wait' as never })).toThrow(/retryAfterPolicy/);
    expect(pool.sessionsCount).toBe(0);
  });
});

describe('rotation', () => {
  it('retries a blocked request on a different session and reports the attempts', async () => {
    let calls = 0;
    const server = await startSite({
      '/page': (_req, res) => {
        calls += 1;
        res.writeHead(calls <= 2 ? 403 : 200).end(`call ${calls}`);
      },
    });
    defer(() => server.close());
    const pool = await open({ maxPoolSize: 5 });
    const response = await pool.fetch(`${server.origin}/page`);
    expect(response.statusCode).toBe(200);
    expect(response.attempts).toBe(3);
    expect(pool.retiredSessionsCount).toBe(2);
    expect(response.session.state).toBe('active');
  });

  it('gives up after maxSessionRotations with an error naming every attempt', async () => {
    const site = await faultySite();
    const pool = await open({ maxPoolSize: 10, maxSessionRotations: 2 });
    const error = (await pool
      .fetch(`${site.origin}/status?code=403`)
      .catch((e: unknown) => e)) as SessionRotationsExhaustedError;
    expect(error).toBeInstanceOf(SessionRotationsExhaustedError);
    expect(error.code).toBe('ERR_SESSION_ROTATIONS_EXHAUSTED');
    expect(error.attempts).toHaveLength(3);
    expect(new Set(error.attempts.map((a) => a.sessionId)).size).toBe(3);
    expect(error.attempts.every((a) => a.outcome === 'blocked' && a.statusCode === 403)).toBe(true);
    expect(pool.retiredSessionsCount).toBe(3);
  });

  it('counts sessionChecker failures and retires a session at maxCheckFailures', async () => {
    const site = await faultySite();
    const pool = await open({
      maxPoolSize: 1,
      maxCheckFailures: 2,
      maxSessionRotations: 0,
      sessionChecker: (_response, body) => !body?.toString().includes('captcha'),
    });
    const session = await pool.getSession();
    const first = await pool.fetch(`${site.origin}/captcha`, { session }).catch((e: unknown) => e);
    expect((first as SessionRotationsExhaustedError).attempts[0]?.outcome).toBe('checkFailed');
    expect(session.errorScore).toBe(1);
    expect((await pool.fetch(`${site.origin}/fine`, { session })).statusCode).toBe(200);
    await pool.fetch(`${site.origin}/captcha`, { session }).catch(() => undefined);
    expect(session.state).toBe('retired');
    expect(session.retirementReason).toBe('checkFailed');
  });

  it('rotates away from a session whose check fails', async () => {
    let calls = 0;
    const server = await startSite({
      '/page': (_req, res) => {
        calls += 1;
        res.writeHead(200).end(calls === 1 ? 'captcha' : 'content');
      },
    });
    defer(() => server.close());
    const pool = await open({ maxPoolSize: 3, sessionChecker: (_r, body) => body?.toString() !== 'captcha' });
    const response = await pool.fetch(`${server.origin}/page`);
    expect(response.text()).toBe('content');
    expect(response.attempts).toBe(2);
  });
});

describe('Retry-After cool-down', () => {
  it('cools a session down on 429 + Retry-After and getSession waits for the cool-down to end', async () => {
    const site = await faultySite();
    const clock = new SimulatedClock();
    clock.set(Date.now());
    const pool = await open({ maxPoolSize: 1, clock, retryAfterPolicy: 'coolDown', maxSessionRotations: 0 });
    const session = await pool.getSession();
    await expect(
      pool.fetch(`${site.origin}/status?code=429&retryAfter=30`, { session }),
    ).rejects.toBeInstanceOf(SessionBlockedError);
    expect(session.state).toBe('blocked');
    expect(session.blockedUntil?.getTime()).toBe(clock.now() + 30_000);
    let handedOut: unknown;
    const waiting = pool.getSession().then((s) => {
      handedOut = s;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(handedOut).toBeUndefined();
    clock.increment(30_000);
    await waiting;
    expect(handedOut).toBe(session);
    expect(session.state).toBe('active');
  });

  it('retires on 429 + Retry-After under the default policy', async () => {
    const site = await faultySite();
    const pool = await open({ maxPoolSize: 1, maxSessionRotations: 0 });
    const session = await pool.getSession();
    await pool.fetch(`${site.origin}/status?code=429&retryAfter=30`, { session }).catch(() => undefined);
    expect(session.state).toBe('retired');
    expect(session.retirementReason).toBe('blockedStatusCode');
  });

  it('fails getSession at once when every cool-down outlasts sessionWaitTimeoutMs', async () => {
    const site = await faultySite();
    const clock = new SimulatedClock();
    clock.set(Date.now());
    const pool = await open({
      maxPoolSize: 1,
      clock,
      retryAfterPolicy: 'coolDown',
      sessionWaitTimeoutMs: 1000,
      maxSessionRotations: 0,
    });
    const session = await pool.getSession();
    await pool.fetch(`${site.origin}/status?code=429&retryAfter=60`, { session }).catch(() => undefined);
    await expect(pool.getSession()).rejects.toMatchObject({ code: 'ERR_NO_USABLE_SESSION' });
  });
});
