/**
 * A lease on a shared session: granted by Redis with a TTL, renewed while held, released once the session's
 * changes are in Redis (so the next holder, in any worker, sees every mark and cookie of this one).
 */
import type { Session } from '../session.js';

/** What a lease needs from its shared pool. */
export interface LeaseHost {
  readonly ttlMs: number;
  renew(sessionId: string, token: string): Promise<boolean>;
  /** Makes the session's local changes durable in Redis, then ends the lease there. */
  finish(sessionId: string, token: string): Promise<void>;
  lost(lease: SessionLease): void;
  ended(lease: SessionLease): void;
}

/** A session leased by this worker. Call `release()` when done (or use `pool.withSession`). */
export class SessionLease {
  readonly session: Session;
  /** The lease's token in Redis (unique per grant). */
  readonly token: string;
  readonly #host: LeaseHost;
  readonly #timer: NodeJS.Timeout;
  #released: Promise<void> | undefined;
  #lost = false;

  /** @internal Leases are granted by `SharedSessionPool.acquire()`. */
  constructor(session: Session, token: string, host: LeaseHost) {
    this.session = session;
    this.token = token;
    this.#host = host;
    // Renewing at a third of the TTL leaves two renewals' worth of slack for a slow round trip.
    this.#timer = setInterval(() => void this.#renew(), Math.max(50, Math.floor(host.ttlMs / 3)));
    this.#timer.unref();
  }

  /** Whether Redis let the lease lapse while it was held (e.g. Redis unreachable for longer than the TTL). */
  get lost(): boolean {
    return this.#lost;
  }

  get released(): boolean {
    return this.#released !== undefined;
  }

  /**
   * Ends the lease: waits until this worker's changes to the session (marks, cookies) are in Redis, then frees
   * it for other workers. Idempotent.
   */
  release(): Promise<void> {
    this.#released ??= this.#finish();
    return this.#released;
  }

  async #finish(): Promise<void> {
    clearInterval(this.#timer);
    try {
      await this.#host.finish(this.session.id, this.token);
    } finally {
      this.#host.ended(this);
    }
  }

  async #renew(): Promise<void> {
    if (this.#released || this.#lost) return;
    const held = await this.#host.renew(this.session.id, this.token).catch(() => true);
    if (!held && !this.#released && !this.#lost) {
      this.#lost = true;
      clearInterval(this.#timer);
      this.#host.lost(this);
    }
  }
}
