import { fetch as undiciFetch } from 'undici';
import { describe, expect, it } from 'vitest';
import { InvalidOptionError, SessionPool, SessionRotationsExhaustedError } from '../../src/index.js';
import { type TestServer, useCleanup } from './helpers.js';

const { open, site } = useCleanup();

/** `/status/<code>` answers with that status (and `Retry-After: 5` when `?retry` is given). */
async function statusSite(): Promise<TestServer> {
  const routes: Record<string, Parameters<typeof site>[0][string]> = {};
  for (const code of [200, 202, 403, 404, 500, 502, 503]) {
    routes[`/status/${code}`] = (_req, res, url) =>
      res.writeHead(code, url.searchParams.has('retry') ? { 'retry-after': '5' } : {}).end(`status ${code}`);
  }
  return site(routes);
}

describe('ignoreHttpErrorStatusCodes and additionalHttpErrorStatusCodes', () => {
  it('an ignored 5xx counts as a success for the session; other 5xx still count against it', async () => {
    const server = await statusSite();
    const pool = await open({ maxPoolSize: 1, ignoreHttpErrorStatusCodes: [500], maxSessionRotations: 0 });
    const session = await pool.getSession();
    const response = await pool.fetch(`${server.origin}/status/500`, { session });
    expect(response.statusCode).toBe(500);
    expect(session.usageCount).toBe(1);
    expect(session.errorScore).toBe(0);
    await expect(pool.fetch(`${server.origin}/status/502`)).rejects.toBeInstanceOf(
      SessionRotationsExhaustedError,
    );
    expect(session.errorScore).toBe(1);
  });

  it('an additional error code counts against the session and makes pool.fetch rotate', async () => {
    const server = await statusSite();
    const pool = await open({
      maxPoolSize: 3,
      additionalHttpErrorStatusCodes: [202],
      maxSessionRotations: 2,
    });
    const error = await pool.fetch(`${server.origin}/status/202`).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SessionRotationsExhaustedError);
    const attempts = (error as SessionRotationsExhaustedError).attempts;
    expect(attempts.map((attempt) => [attempt.outcome, attempt.statusCode])).toEqual([
      ['bad', 202],
      ['bad', 202],
      ['bad', 202],
    ]);
    expect(new Set(attempts.map((attempt) => attempt.sessionId)).size).toBe(3);
    for (const session of pool.sessions()) expect(session.errorScore).toBe(1);
    // Other 2xx stay successes.
    const ok = await pool.fetch(`${server.origin}/status/200`);
    expect(ok.session.errorScore).toBe(0.5);
  });

  it('applies the same rules on session.dispatcher (outcome reporter)', async () => {
    const server = await statusSite();
    const pool = await open({
      maxPoolSize: 1,
      ignoreHttpErrorStatusCodes: [503],
      additionalHttpErrorStatusCodes: [404],
    });
    const session = await pool.getSession();
    const ignored = await undiciFetch(`${server.origin}/status/503`, { dispatcher: session.dispatcher });
    await ignored.text();
    await expect.poll(() => session.usageCount).toBe(1);
    expect(session.errorScore).toBe(0);
    const failed = await undiciFetch(`${server.origin}/status/404`, { dispatcher: session.dispatcher });
    await failed.text();
    await expect.poll(() => session.usageCount).toBe(2);
    expect(session.errorScore).toBe(1);
  });

  it('blocked status codes retire the session whatever the two lists say', async () => {
    const server = await statusSite();
    const pool = await open({
      maxPoolSize: 2,
      ignoreHttpErrorStatusCodes: [403],
      additionalHttpErrorStatusCodes: [403],
      maxSessionRotations: 0,
    });
    const session = await pool.getSession();
    await expect(pool.fetch(`${server.origin}/status/403`, { session })).rejects.toThrow(/blocked/i);
    expect(session.state).toBe('retired');
    expect(session.retirementReason).toBe('blockedStatusCode');
  });

  it('an ignored 503 with Retry-After does not cool the session down', async () => {
    const server = await statusSite();
    const pool = await open({
      maxPoolSize: 1,
      retryAfterPolicy: 'coolDown',
      ignoreHttpErrorStatusCodes: [503],
    });
    const session = await pool.getSession();
    const response = await pool.fetch(`${server.origin}/status/503?retry`, { session });
    expect(response.statusCode).toBe(503);
    expect(session.state).toBe('active');
    expect(session.blockedUntil).toBeNull();
    // Without the option the same response cools the session down.
    const strict = await open({ maxPoolSize: 1, retryAfterPolicy: 'coolDown' });
    const other = await strict.getSession();
    await expect(strict.fetch(`${server.origin}/status/503?retry`, { session: other })).rejects.toThrow();
    expect(other.state).toBe('blocked');
  });

  it('rejects bad lists with an InvalidOptionError naming the field', () => {
    expect(() => new SessionPool({ ignoreHttpErrorStatusCodes: [500, 700] })).toThrow(InvalidOptionError);
    expect(() => new SessionPool({ ignoreHttpErrorStatusCodes: [500, 700] })).toThrow(
      /ignoreHttpErrorStatusCodes\[1\]/,
    );
    expect(() => new SessionPool({ additionalHttpErrorStatusCodes: '404' as unknown as number[] })).toThrow(
      /additionalHttpErrorStatusCodes/,
    );
    expect(() => new SessionPool({ additionalHttpErrorStatusCodes: [4.5] })).toThrow(
      /additionalHttpErrorStatusCodes\[0\]/,
    );
  });
});
