/**
 * `SharedSessionPool.fetch`: each attempt leases a session, runs the local pool's `fetch` pinned to it (so the
 * outcome is applied to that session), and releases the lease once the outcome is in Redis. Blocks and failures
 * rotate to another session, as `pool.fetch` does, up to `maxSessionRotations`.
 */
import {
  type FetchAttemptSummary,
  InvalidOptionError,
  SessionBlockedError,
  SessionRotationsExhaustedError,
  UnknownSessionError,
} from '../errors.js';
import { redactUrl } from '../http/proxy.js';
import type { SessionFetchInit, SessionResponse } from '../http/types.js';
import type { SessionPool } from '../session-pool.js';
import type { SessionLease } from './lease.js';

export interface SharedFetchHost {
  pool: SessionPool;
  acquire(request: {
    sessionId?: string;
    exclude?: ReadonlySet<string>;
    signal?: AbortSignal;
  }): Promise<SessionLease>;
  maxSessionRotations: number;
}

export async function sharedFetch(
  host: SharedFetchHost,
  url: string | URL,
  init: SessionFetchInit,
): Promise<SessionResponse> {
  const pinned =
    init.session === undefined
      ? undefined
      : typeof init.session === 'string'
        ? init.session
        : init.session.id;
  const rotations = pinned === undefined ? (init.maxSessionRotations ?? host.maxSessionRotations) : 0;
  if (!Number.isInteger(rotations) || rotations < 0 || rotations > 1000) {
    throw new InvalidOptionError(
      'maxSessionRotations',
      `expected a whole number from 0 to 1000, got ${String(rotations)}`,
    );
  }
  const attempts: FetchAttemptSummary[] = [];
  const tried = new Set<string>();
  let lastError: unknown;
  for (let attempt = 0; attempt <= rotations; attempt += 1) {
    const request: { sessionId?: string; exclude: ReadonlySet<string>; signal?: AbortSignal } = {
      exclude: tried,
    };
    if (pinned !== undefined) request.sessionId = pinned;
    if (init.signal) request.signal = init.signal;
    const lease = await host.acquire(request);
    const sessionId = lease.session.id;
    tried.add(sessionId);
    try {
      return await host.pool.fetch(url, { ...init, session: lease.session, maxSessionRotations: 0 });
    } catch (error) {
      if (pinned !== undefined) throw error;
      if (error instanceof SessionRotationsExhaustedError) attempts.push(...error.attempts);
      else if (error instanceof SessionBlockedError) {
        attempts.push({ sessionId, outcome: 'blocked', statusCode: error.statusCode });
      } else if (error instanceof UnknownSessionError) {
        attempts.push({ sessionId, outcome: 'retired' });
      } else throw error;
      lastError = error;
    } finally {
      await lease.release();
    }
  }
  throw new SessionRotationsExhaustedError(redactUrl(String(url)), attempts, { cause: lastError });
}
