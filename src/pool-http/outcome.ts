/**
 * Ends a request's reserved use with its classified outcome: marks, retirement, cool-down, check failures. A
 * retirement or cool-down is applied before the use is released, so the reason recorded is the response's (a
 * blocked status), not the use that came with it. The session ignores all of it once it has retired, so a late
 * outcome never resurrects one.
 */
import type { SessionLease } from '../acquisition/lease.js';
import type { Clock } from '../clock.js';
import type { Outcome } from '../http/classify.js';
import type { ResolvedHttpOptions } from '../http/options.js';
import type { CheckedResponse } from '../http/types.js';
import type { PoolTally } from '../pool-stats.js';

export type AppliedOutcome = Outcome['kind'] | 'checkFailed';

/** Releases `lease` for `outcome` of a response with `statusCode` (0 when no response came). */
export function settleLease(
  lease: SessionLease,
  outcome: Outcome,
  statusCode: number,
  clock: Clock,
  tally: PoolTally,
): void {
  const session = lease.session;
  switch (outcome.kind) {
    case 'good':
      tally.count('use/check-passed');
      lease.markGood();
      return;
    case 'bad':
      tally.count('use/failed');
      lease.markBad();
      return;
    case 'blocked':
      tally.count('use/blocked');
      if (!session.retireOnBlockedStatusCodes(statusCode, [statusCode])) {
        session.send({ type: 'session.retire', reason: 'blocked' });
      }
      lease.release('aborted');
      return;
    case 'coolDown': {
      tally.count('use/blocked');
      const until = clock.now() + (outcome.retryAfterMs ?? 0);
      // Cooling down past the session's expiry would only hide a dead session: retire it instead.
      if (until >= session.expiresAt.getTime()) session.retireOnBlockedStatusCodes(statusCode, [statusCode]);
      else session.coolDown(until);
      lease.release('aborted');
      return;
    }
  }
}

/** Records a `sessionChecker` failure: the use counts as bad, and the session retires at `maxCheckFailures`. */
export function settleCheckFailure(lease: SessionLease, maxCheckFailures: number, tally: PoolTally): void {
  tally.count('use/check-failed');
  lease.session.send({ type: 'session.checkFailed', maxCheckFailures });
  lease.markBad();
}

/** Runs the pool's `sessionChecker`; a throw counts as a failed check. True when the response passes. */
export async function runChecker(
  options: Pick<ResolvedHttpOptions, 'sessionChecker'>,
  response: CheckedResponse,
  body: Buffer | undefined,
): Promise<boolean> {
  const checker = options.sessionChecker;
  if (!checker) return true;
  try {
    return (await checker(response, body)) !== false;
  } catch {
    return false;
  }
}
