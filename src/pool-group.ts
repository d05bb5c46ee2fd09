/**
 * Pools keyed by site: one `SessionPool` per origin (or per key of the caller's choosing), each with its own
 * size and options, created on first use. Sessions never cross sites, which is what most sites' bot defences
 * expect of a real user anyway.
 */
import { Dispatcher } from 'undici';
import { describeValue } from './describe-value.js';
import { InvalidOptionError, PoolNotRunningError } from './errors.js';
import { dispatchUrl, failHandler } from './http/handlers.js';
import type { SessionFetchInit, SessionResponse } from './http/types.js';
import type { SessionPoolOptions } from './options.js';
import { SessionPool } from './session-pool.js';

export interface SessionPoolGroupOptions {
  /** The key of a URL's pool. Default: its origin (`https://example.com:443`). */
  key?: (url: URL) => string;
  /** Options of each new pool: one object for all, or a function of the key. */
  poolOptions?: SessionPoolOptions<SessionPool> | ((key: string) => SessionPoolOptions<SessionPool>);
  /** Called once for each pool right after it opens (e.g. to subscribe to its events). */
  onPoolCreated?: (key: string, pool: SessionPool) => void;
}

export class SessionPoolGroup {
  readonly #key: (url: URL) => string;
  readonly #poolOptions: SessionPoolGroupOptions['poolOptions'];
  readonly #onPoolCreated: SessionPoolGroupOptions['onPoolCreated'];
  readonly #pools = new Map<string, Promise<SessionPool>>();
  #dispatcher: Dispatcher | undefined;
  #closed = false;

  constructor(options: SessionPoolGroupOptions = {}) {
    if (options.key !== undefined && typeof options.key !== 'function') {
      throw new InvalidOptionError('key', 'expected a function from URL to string');
    }
    this.#key = options.key ?? ((url) => url.origin);
    this.#poolOptions = options.poolOptions;
    this.#onPoolCreated = options.onPoolCreated;
  }

  /** The pool for `key`, opened on first use (concurrent callers share one opening). */
  pool(key: string): Promise<SessionPool> {
    if (this.#closed) return Promise.reject(new PoolNotRunningError('the pool group was torn down'));
    let opening = this.#pools.get(key);
    if (!opening) {
      const options = typeof this.#poolOptions === 'function' ? this.#poolOptions(key) : this.#poolOptions;
      opening = SessionPool.open(options).then((pool) => {
        this.#onPoolCreated?.(key, pool);
        return pool;
      });
      // A pool that fails to open (bad options) is not cached, so the error repeats rather than sticks.
      opening.catch(() => this.#pools.delete(key));
      this.#pools.set(key, opening);
    }
    return opening;
  }

  /** The pool `url` belongs to. */
  poolFor(url: string | URL): Promise<SessionPool> {
    return this.pool(this.keyOf(url));
  }

  keyOf(url: string | URL): string {
    let parsed: URL;
    try {
      parsed = url instanceof URL ? url : new URL(String(url));
    } catch {
      throw new InvalidOptionError('url', `not a valid absolute URL: ${describeValue(url)}`);
    }
    const key = this.#key(parsed);
    if (typeof key !== 'string' || key.length === 0)
      throw new InvalidOptionError('key', 'must return a non-empty string');
    return key;
  }

  /** `pool.fetch` on the pool of `url`'s key. */
  async fetch(url: string | URL, init?: SessionFetchInit): Promise<SessionResponse> {
    return (await this.poolFor(url)).fetch(url, init);
  }

  /** Keys of the pools opened so far. */
  keys(): string[] {
    return [...this.#pools.keys()];
  }

  /** A dispatcher that routes each request to the `dispatcher` of its key's pool. */
  get dispatcher(): Dispatcher {
    this.#dispatcher ??= new GroupRouter().compose(() => (opts, handler) => {
      this.poolFor(dispatchUrl(opts)).then(
        (pool) => pool.dispatcher.dispatch(opts, handler),
        (error: Error) => failHandler(handler, error),
      );
      return true;
    });
    return this.#dispatcher;
  }

  /** Tears every pool down. */
  async teardown(): Promise<void> {
    this.#closed = true;
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(
      pools.map((opening) =>
        opening.then(
          (pool) => pool.teardown(),
          () => undefined,
        ),
      ),
    );
  }
}

class GroupRouter extends Dispatcher {
  override dispatch(): boolean {
    throw new Error('GroupRouter is used through compose()');
  }
  override close(...args: unknown[]): Promise<void> {
    const callback = args.find((arg) => typeof arg === 'function') as (() => void) | undefined;
    if (callback) queueMicrotask(callback);
    return Promise.resolve();
  }
  override destroy(...args: unknown[]): Promise<void> {
    return this.close(...args);
  }
}
