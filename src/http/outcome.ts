/**
 * Applies a classified outcome to a session: marks, retirement, cool-down, check failures. The session handle
 * ignores all of it once the session has retired, so a late outcome never resurrects one.
 */
import type { Clock } from '../clock.js';
import type { Outcome } from './classify.js';
import type { ResolvedHttpOptions } from './options.js';
import type { SessionHttp } from './session-http.js';
import type { CheckedResponse } from './types.js';

export type AppliedOutcome = Outcome['kind'] | 'checkFailed';

/** Marks the session for `outcome` of a response with `statusCode` (0 when no response came). */
export function applyOutcome(http: SessionHttp, outcome: Outcome, statusCode: number, clock: Clock): void {
  const session = http.session;
  switch (outcome.kind) {
    case 'good':
      session.markGood();
      return;
    case 'bad':
      session.markBad();
      return;
    case 'blocked':
      if (!session.retireOnBlockedStatusCodes(statusCode, [statusCode])) {
        session.send({ type: 'session.retire', reason: 'blocked' });
      }
      return;
    case 'coolDown': {
      const until = clock.now() + (outcome.retryAfterMs ?? 0);
      // Cooling down past the session's expiry would only hide a dead session: retire it instead.
      if (until >= session.expiresAt.getTime()) session.retireOnBlockedStatusCodes(statusCode, [statusCode]);
      else session.coolDown(until);
      return;
    }
  }
}

/** Records a `sessionChecker` failure: error score +1, and retirement (`checkFailed`) at `maxCheckFailures`. */
export function applyCheckFailure(http: SessionHttp, maxCheckFailures: number): void {
  http.checkFailures += 1;
  if (http.checkFailures >= maxCheckFailures) {
    http.session.send({ type: 'session.retire', reason: 'checkFailed' });
  } else {
    http.session.markBad();
  }
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
