/** Errors of the fleet protocol: what a lease's `signal` aborts with, and a stalled Redis. */
import { SessionSupervisorError } from '../../errors.js';

/**
 * The fleet's lease on a session ended before its holder released it: Redis did not hear a renewal within the
 * lease TTL (stalled or unreachable), or came back without this pool's state. Another worker may now hold the
 * session; stop using it.
 */
export class FleetLeaseLostError extends SessionSupervisorError {
  readonly sessionId: string;

  constructor(sessionId: string, detail: string) {
    super('ERR_FLEET_LEASE_LOST', `the fleet lease on session "${sessionId}" was lost: ${detail}`);
    this.sessionId = sessionId;
  }
}

/** A Redis command got no answer within `commandTimeoutMs`. */
export class FleetCommandTimeoutError extends SessionSupervisorError {
  readonly field = 'commandTimeoutMs';

  constructor(command: string, timeoutMs: number) {
    super('ERR_FLEET_COMMAND_TIMEOUT', `Redis did not answer ${command} within ${timeoutMs} ms`);
  }
}
