/**
 * A worker's line to the fleet: the pub/sub subscription that feeds the mirror, the state of the command
 * connection (hand-outs pause while it is down, and resume once the mirror has caught up after a reconnect),
 * and the wake-ups of hand-outs waiting for a lease to free or a session to appear.
 */
import type { Redis } from 'ioredis';
import { connectRedis, subscribeAcrossReconnects } from './connection.js';
import type { FleetMirror } from './mirror.js';
import type { PoolMessage, RedisSessionStore } from './redis-store.js';

export interface FleetLinkEvents {
  lost(): void;
  restored(): void;
}

export class FleetLink {
  readonly #store: RedisSessionStore;
  readonly #mirror: FleetMirror;
  readonly #events: FleetLinkEvents;
  readonly #waiters = new Set<() => void>();
  #subscriber: Redis | undefined;
  #connected = true;
  #closed = false;

  constructor(store: RedisSessionStore, mirror: FleetMirror, events: FleetLinkEvents) {
    this.#store = store;
    this.#mirror = mirror;
    this.#events = events;
  }

  /** Whether hand-outs may go on: the command connection is up and the mirror has caught up. */
  get connected(): boolean {
    return this.#connected;
  }

  /** Subscribes to the pool's channel (a connection of its own) and watches the command connection. */
  async open(): Promise<void> {
    const subscriber = await connectRedis(
      this.#store.config,
      `session-supervisor:${this.#store.storeId}:events`,
      'subscriber',
    );
    this.#subscriber = subscriber;
    subscriber.on('message', (_channel: string, text: string) => this.#onMessage(text));
    await subscribeAcrossReconnects(subscriber, `${this.#store.keyPrefix}events`);
    const client = this.#store.client;
    client.on('close', () => {
      if (!this.#connected || this.#closed) return;
      this.#connected = false;
      this.#events.lost();
    });
    client.on('ready', () => {
      if (this.#connected || this.#closed) return;
      // Messages sent while the link was down are lost: catch up from Redis's own sets before resuming.
      this.#mirror
        .sync()
        .catch(() => undefined)
        .finally(() => {
          if (this.#closed) return;
          this.#connected = true;
          this.#events.restored();
          this.wake();
        });
    });
  }

  /** Waits until something may have changed (a message, a retirement, a reconnect) or `ms` passed. */
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#waiters.add(done);
    });
  }

  wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.wake();
    const subscriber = this.#subscriber;
    this.#subscriber = undefined;
    if (subscriber) await subscriber.quit().catch(() => subscriber.disconnect());
  }

  #onMessage(text: string): void {
    if (this.#closed) return;
    let message: PoolMessage;
    try {
      message = JSON.parse(text) as PoolMessage;
    } catch {
      return;
    }
    this.#mirror
      .handle(message)
      .catch(() => undefined)
      .finally(() => this.wake());
  }
}
