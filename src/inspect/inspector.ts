/**
 * Connects a pool to the Stately inspector: `createSanitizedInspector` feeds `createInspector` from
 * `@statelyai/inspect` through our own WebSocket adapter, with bounded, redacted messages and a start-up buffer
 * large enough for every actor a pool spawns; `startInspector` also starts the local relay and resolves once the
 * inspector's socket is open.
 *
 * Why our own adapter: the library's WebSocket adapter cannot say when its socket is open, and when it is closed
 * while still connecting it sees an error and reconnects every 5 s for ever, so a process that stops inspecting
 * early never exits. It also keeps every deferred event after sending it.
 */
import { WebSocket } from 'undici';
import type { InspectionEvent, Observer } from 'xstate';
import { InspectorStartError, InvalidOptionError } from '../errors.js';
import { numberOption } from '../options.js';
import { createInspector } from './peers.js';
import { type InspectorServer, type InspectorServerOptions, startInspectorServer } from './relay-server.js';
import { createSanitizers, type SanitizeLimits } from './sanitize.js';

/** Events kept while the socket is not open yet; the library's default (200) loses a pool's start-up. */
export const DEFAULT_MAX_DEFERRED_EVENTS = 100_000;

/** Longest pause between two reconnection attempts after the relay went away. */
const MAX_RECONNECT_DELAY_MS = 5_000;

export interface SanitizedInspectorOptions extends SanitizeLimits {
  /**
   * WebSocket URL of the relay. For our relay, its `producerUrl` (it carries the relay's token; without the token
   * the relay treats the client as a viewer and ignores what it sends).
   */
  url: string;
  /** Inspection events buffered until the socket opens (oldest dropped beyond). Default 100,000. */
  maxDeferredEvents?: number;
  /** Send the machine definition with every actor registration, so the UI can draw it. Default true. */
  includeDefinitions?: boolean;
}

/** An inspection observer to pass as the pool's `inspect` option, and a way to disconnect it. */
export interface SanitizedInspector {
  inspect: Observer<InspectionEvent>;
  /** Resolves once the socket is open (events buffered until then are sent); rejects after `timeoutMs`. */
  opened(timeoutMs: number): Promise<void>;
  /**
   * Closes the socket (waiting for a connecting one to open or fail first) and stops reconnecting; later
   * inspection events are dropped. Resolves once the socket is closed. Idempotent.
   */
  stop(): Promise<void>;
}

function inspectorOptions(options: SanitizedInspectorOptions) {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', 'expected an object with a `url`');
  }
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new InvalidOptionError('url', `not a valid WebSocket URL: ${String(options.url)}`);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new InvalidOptionError('url', `expected a ws:// or wss:// URL, got ${url.protocol}`);
  }
  for (const field of ['maxDepth', 'maxArrayItems', 'maxObjectKeys', 'maxStringLength'] as const) {
    numberOption(field, options[field], 1, { integer: true, min: 1 });
  }
  const maxDeferredEvents = numberOption(
    'maxDeferredEvents',
    options.maxDeferredEvents,
    DEFAULT_MAX_DEFERRED_EVENTS,
    { integer: true, min: 0 },
  );
  const { sanitizeContext, sanitizeEvent, serialize } = createSanitizers(options);
  const withDefinitions = options.includeDefinitions ?? true;
  return {
    url: url.href,
    maxDeferredEvents,
    sanitizeContext,
    sanitizeEvent,
    serialize: <T>(event: T): T => {
      const bounded = serialize(event);
      if ((bounded as { type?: unknown }).type !== '@xstate.actor') return bounded;
      const named = { ...bounded, name: actorName(bounded as ActorRegistration) };
      return withDefinitions ? named : { ...named, definition: undefined };
    },
  };
}

interface ActorRegistration {
  name?: unknown;
  snapshot?: { context?: { id?: unknown; shardId?: unknown } };
}

/**
 * Children are named by number (a session by its slot in its shard, a shard by its place in the pool), which
 * keeps XState's copies of `children` cheap; show sessions under their session id and shards as `shard-<n>`.
 */
function actorName(registration: ActorRegistration): unknown {
  const { name, snapshot } = registration;
  if (typeof name !== 'string' || !/^\d+$/.test(name)) return name;
  const context = snapshot?.context;
  if (typeof context?.shardId === 'string') return `shard-${context.shardId}`;
  return typeof context?.id === 'string' ? context.id : name;
}

/**
 * Sends inspection events over one WebSocket: buffered (bounded) until it opens, reconnecting with back-off if
 * the relay goes away, and closed for good by `stop()`.
 */
class RelayAdapter {
  readonly #url: string;
  readonly #maxDeferred: number;
  #socket: WebSocket | undefined;
  /** A ring of pending messages: `shift()` on a 100,000-item array is linear. */
  #deferred: string[] = [];
  #deferredStart = 0;
  #stopped = false;
  #stopping: Promise<void> | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #retryDelay = 250;
  readonly #openWaiters = new Set<() => void>();

  constructor(url: string, maxDeferred: number) {
    this.#url = url;
    this.#maxDeferred = maxDeferred;
  }

  get isOpen(): boolean {
    return this.#socket?.readyState === WebSocket.OPEN;
  }

  start(): void {
    if (this.#stopped || this.#socket) return;
    const socket = new WebSocket(this.#url);
    this.#socket = socket;
    socket.addEventListener('open', () => {
      if (this.#socket !== socket) return;
      this.#retryDelay = 250;
      for (let index = this.#deferredStart; index < this.#deferred.length; index += 1) {
        socket.send(this.#deferred[index] as string);
      }
      this.#deferred = [];
      this.#deferredStart = 0;
      for (const wake of [...this.#openWaiters]) wake();
    });
    socket.addEventListener('close', () => {
      if (this.#socket !== socket) return;
      this.#socket = undefined;
      if (!this.#stopped) this.#scheduleReconnect();
    });
    // A failed connection also closes; the reconnect is scheduled there.
    socket.addEventListener('error', () => {});
  }

  send(event: unknown): void {
    if (this.#stopped) return;
    let text: string;
    try {
      text = JSON.stringify(event);
    } catch {
      return; // sanitized events are plain data; anything else is not worth a crash
    }
    if (this.isOpen) {
      this.#socket?.send(text);
      return;
    }
    if (this.#maxDeferred === 0) return;
    this.#deferred.push(text);
    if (this.#deferred.length - this.#deferredStart > this.#maxDeferred) {
      this.#deferred[this.#deferredStart] = '';
      this.#deferredStart += 1;
      if (this.#deferredStart > this.#maxDeferred) {
        this.#deferred = this.#deferred.slice(this.#deferredStart);
        this.#deferredStart = 0;
      }
    }
  }

  opened(timeoutMs: number): Promise<void> {
    if (this.isOpen) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const wake = () => {
        clearTimeout(timer);
        this.#openWaiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#openWaiters.delete(wake);
        reject(
          new InspectorStartError(
            `the inspector's socket to ${redactToken(this.#url)} did not open within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      this.#openWaiters.add(wake);
    });
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    this.#deferred = [];
    this.#deferredStart = 0;
    const socket = this.#socket;
    this.#socket = undefined;
    if (!socket || socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      socket.addEventListener('close', () => resolve());
      // Closing a socket that is still connecting fails it, which is what we want: no reconnection follows.
      socket.close();
    });
  }

  #scheduleReconnect(): void {
    const delay = this.#retryDelay;
    this.#retryDelay = Math.min(this.#retryDelay * 2, MAX_RECONNECT_DELAY_MS);
    this.#retryTimer = setTimeout(() => this.start(), delay);
    // Reconnecting must not keep a process alive that has nothing else to do.
    this.#retryTimer.unref();
  }
}

function redactToken(url: string): string {
  return url.replace(/([?&]token=)[^&]*/, '$1***');
}

/**
 * An inspector that sends to a relay at `url` (see `startInspectorServer`). Contexts, events and snapshot
 * fields are bounded by the limits and secrets are redacted; events that happen before the socket opens are
 * buffered (up to `maxDeferredEvents`), so actors spawned at start-up are not lost.
 */
export function createSanitizedInspector(options: SanitizedInspectorOptions): SanitizedInspector {
  const { url, maxDeferredEvents, ...inspectorSettings } = inspectorOptions(options);
  const adapter = new RelayAdapter(url, maxDeferredEvents);
  const inspector = createInspector(adapter, inspectorSettings as Parameters<typeof createInspector>[1]);
  adapter.start();
  let stopped = false;
  return {
    inspect: {
      next: (event) => {
        if (!stopped) inspector.inspect.next?.(event);
      },
      error: () => {},
      complete: () => {},
    },
    opened: (timeoutMs) => adapter.opened(timeoutMs),
    stop: () => {
      stopped = true;
      return adapter.stop();
    },
  };
}

export interface StartInspectorOptions extends InspectorServerOptions, SanitizeLimits {
  /** Inspection events buffered until the socket opens. Default 100,000. */
  maxDeferredEvents?: number;
  /** Send machine definitions with actor registrations. Default true. */
  includeDefinitions?: boolean;
  /** How long to wait for the inspector's socket to the relay to open. Default 5,000 ms. */
  connectTimeoutMs?: number;
}

/** A running relay with a connected inspector. */
export interface RunningInspector {
  /** Pass as the pool's `inspect` option: `new SessionPool({ inspect })`. */
  inspect: Observer<InspectionEvent>;
  /** Open this page in a browser to watch the pool (the UI it frames is hosted by stately.ai). */
  url: string;
  /** The relay's WebSocket URL for viewers (they only receive). */
  wsUrl: string;
  /**
   * The relay's WebSocket URL for producers, with its token: more processes can inspect into it with
   * `createSanitizedInspector({ url: producerUrl })`. Treat it as a secret.
   */
  producerUrl: string;
  server: InspectorServer;
  /** Disconnects the inspector (its socket closed), then stops the relay. Idempotent. */
  close(): Promise<void>;
}

/**
 * One call for `--inspect`: starts the relay (loopback, port 0 unless told otherwise), connects a sanitized
 * inspector to it and resolves once its socket is open, so nothing the pool does afterwards waits in a buffer.
 *
 * @example
 * ```ts
 * const inspector = await startInspector({ port: 8080 });
 * console.log(`Inspector: ${inspector.url}`);
 * const pool = await SessionPool.open({ inspect: inspector.inspect });
 * // … crawl …
 * await pool.teardown();
 * await inspector.close();
 * ```
 */
export async function startInspector(options: StartInspectorOptions = {}): Promise<RunningInspector> {
  const timeout = numberOption('connectTimeoutMs', options.connectTimeoutMs, 5_000, { min: 1 });
  const server = await startInspectorServer(options);
  let inspector: SanitizedInspector | undefined;
  try {
    inspector = createSanitizedInspector({ ...options, url: server.producerUrl });
    await inspector.opened(timeout);
  } catch (error) {
    await inspector?.stop();
    await server.close();
    throw error instanceof InspectorStartError || error instanceof InvalidOptionError
      ? error
      : new InspectorStartError(String(error), { cause: error });
  }
  const connectedInspector = inspector;
  let closing: Promise<void> | undefined;
  return {
    inspect: connectedInspector.inspect,
    url: server.url,
    wsUrl: server.wsUrl,
    producerUrl: server.producerUrl,
    server,
    close() {
      closing ??= (async () => {
        await connectedInspector.stop();
        await server.close();
      })();
      return closing;
    },
  };
}
