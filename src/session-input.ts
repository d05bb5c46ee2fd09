import { randomUUID } from 'node:crypto';
import type { SessionInput } from '../machines/session.machine.js';
import { type ResolvedPoolOptions, resolveSessionOptions, type SessionOptions } from './options.js';

/** A new session id: `session_` and 16 random hex digits. */
export function generateSessionId(): string {
  return `session_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
}

/**
 * The input of a new session actor: `options` validated and merged over the pool's `sessionOptions`, limits
 * turned into absolute deadlines from `now`, and a generated id where none is given.
 */
export function buildSessionInput(
  options: SessionOptions,
  pool: Pick<ResolvedPoolOptions<unknown>, 'sessionOptions' | 'blockedStatusCodes'>,
  now: number,
): SessionInput {
  const resolved = resolveSessionOptions(options, pool.sessionOptions, 'sessionOptions.');
  return {
    id: resolved.id ?? generateSessionId(),
    createdAt: now,
    expiresAt: now + resolved.maxAgeSecs * 1000,
    maxUsageCount: resolved.maxUsageCount,
    maxErrorScore: resolved.maxErrorScore,
    errorScoreDecrement: resolved.errorScoreDecrement,
    blockedStatusCodes: pool.blockedStatusCodes,
    userData: resolved.userData,
  };
}
