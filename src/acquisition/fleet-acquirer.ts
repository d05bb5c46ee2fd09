/**
 * Acquisition for a fleet pool: the fleet (a shared store) chooses the session and reserves the use; the local
 * machine of the session then takes the same reservation (so `reservedUses`, `getState()` and outcomes read as in
 * any pool) and the lease ends it in both. A lease's `signal` aborts when the caller's does, the pool is torn
 * down, or the fleet's lease is lost.
 *
 * `getSession()` has no use to hold (Crawlee's meaning): it takes a grant and gives the use back at once, so the
 * session is one the fleet would serve now; outcomes reported on it count in this worker's machine only.
 * Requests that should count fleet-wide go through `acquire`, `withSession`, `fetch` or a dispatcher.
 */
import type { ReleaseOutcome } from '../../machines/session.machine.js';
import { NoUsableSessionError, PoolNotRunningError } from '../errors.js';
import type { Session } from '../session.js';
import { type AcquireOptions, type AcquisitionHost, SessionAcquirer } from './acquirer.js';
import type { FleetUse, SessionFleet } from './fleet.js';
import { SessionLease } from './lease.js';

/** Local refusals tolerated in a row before a request gives up (a local copy out of step with the fleet). */
const MAX_LOCAL_REFUSALS = 4;

export class FleetAcquirer extends SessionAcquirer {
  readonly #fleetHost: AcquisitionHost;
  readonly #fleet: SessionFleet;
  readonly #leases = new Set<SessionLease>();
  #stopped = false;

  constructor(host: AcquisitionHost, fleet: SessionFleet) {
    super(host);
    this.#fleetHost = host;
    this.#fleet = fleet;
  }

  override get openLeases(): number {
    return this.#leases.size;
  }

  override getSessionNow(): Session | undefined {
    return undefined;
  }

  override async getSession(signal?: AbortSignal): Promise<Session> {
    const lease = await this.acquire({ signal });
    lease.release('unused');
    return lease.session;
  }

  override async acquire(options: AcquireOptions = {}): Promise<SessionLease> {
    // Copied only when a local refusal adds to it: most acquires exclude nothing.
    let exclude: ReadonlySet<string> | undefined =
      options.exclude === undefined || options.exclude instanceof Set
        ? options.exclude
        : new Set(options.exclude);
    const pinned =
      options.session === undefined
        ? undefined
        : typeof options.session === 'string'
          ? options.session
          : options.session.id;
    const waitMs = this.#fleetHost.options.sessionWaitTimeoutMs;
    for (let refusals = 0; ; ) {
      if (this.#stopped) throw new PoolNotRunningError('it was torn down');
      options.signal?.throwIfAborted();
      const use = await this.#fleet.acquire({ sessionId: pinned, exclude, signal: options.signal, waitMs });
      const session = use.session;
      const ready = this.initializer.ensure(session);
      if (ready !== true) {
        try {
          await ready;
        } catch (error) {
          use.release('unused');
          throw error;
        }
      }
      if (this.#stopped) {
        use.release('unused');
        throw new PoolNotRunningError('it was torn down');
      }
      if (this.#reserveLocally(session)) return this.#lease(use, options.signal);
      // The local copy refused (it retired or cooled down here first): give the use back, try another.
      use.release('unused');
      refusals += 1;
      if (pinned !== undefined || refusals >= MAX_LOCAL_REFUSALS) {
        throw new NoUsableSessionError(
          `session "${session.id}" was granted by the fleet but cannot take a request here`,
        );
      }
      exclude = new Set([...(exclude ?? []), session.id]);
    }
  }

  override close(): void {
    this.#stopped = true;
    const reason = new PoolNotRunningError('it was torn down');
    for (const lease of [...this.#leases]) lease.revoke(reason);
    super.close();
  }

  /** The fleet limits concurrency and pacing fleet-wide; locally the machine only counts the reservation. */
  #reserveLocally(session: Session): boolean {
    const before = session.reservedUses;
    session.send({
      type: 'session.reserve',
      at: this.#fleetHost.clock.now(),
      maxConcurrency: Number.MAX_SAFE_INTEGER,
      minDelayMs: 0,
    });
    return session.reservedUses > before;
  }

  #lease(use: FleetUse, callerSignal: AbortSignal | undefined): SessionLease {
    const release = (lease: SessionLease, outcome: ReleaseOutcome) => {
      this.#leases.delete(lease);
      this.#fleetHost.tally.use(outcome);
      // The fleet reads the session's cookies and cool-down as they stand after the outcome.
      lease.session.send({ type: 'session.release', outcome });
      use.release(outcome);
      this.changes.notify();
    };
    const lease = new SessionLease(
      use.session,
      release,
      () => this.#fleetHost.dispatcherFor(use.session),
      callerSignal,
      (abort) => use.onLost(abort),
    );
    this.#leases.add(lease);
    return lease;
  }
}
