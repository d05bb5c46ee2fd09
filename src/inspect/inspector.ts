/**
 * Connects a pool to the Stately inspector: `createSanitizedInspector` wraps `createWebSocketInspector` from
 * `@statelyai/inspect` with bounded, redacted messages and a start-up buffer large enough for every actor a pool
 * spawns; `startInspector` also starts the local relay and waits until the inspector is connected to it.
 */
import { createWebSocketInspector } from '@statelyai/inspect';
import type { InspectionEvent, Observer } from 'xstate';
import { InspectorStartError, InvalidOptionError } from '../errors.js';
import { numberOption } from '../options.js';
import { type InspectorServer, type InspectorServerOptions, startInspectorServer } from './relay-server.js';
import { createSanitizers, type SanitizeLimits } from './sanitize.js';

/** Events kept while the socket is not open yet; the library's default (200) loses a pool's start-up. */
export const DEFAULT_MAX_DEFERRED_EVENTS = 100_000;

export interface SanitizedInspectorOptions extends SanitizeLimits {
  /** WebSocket URL of the relay, e.g. `ws://127.0.0.1:8080`. */
  url: string;
  /** Inspection events buffered until the socket opens (oldest dropped beyond). Default 100,000. */
  maxDeferredEvents?: number;
  /** Send the machine definition with every actor registration, so the UI can draw it. Default true. */
  includeDefinitions?: boolean;
}

/** An inspection observer to pass as the pool's `inspect` option, and a way to disconnect it. */
export interface SanitizedInspector {
  inspect: Observer<InspectionEvent>;
  /** Closes the socket; later inspection events are dropped instead of buffered. Idempotent. */
  stop(): void;
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
    {
      integer: true,
      min: 0,
    },
  );
  const { sanitizeContext, sanitizeEvent, serialize } = createSanitizers(options);
  const withDefinitions = options.includeDefinitions ?? true;
  return {
    url: options.url,
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
  snapshot?: { context?: { id?: unknown } };
}

/** Sessions are children named by shard slot (`slot-7`); show them under their session id instead. */
function actorName(registration: ActorRegistration): unknown {
  const sessionId = registration.snapshot?.context?.id;
  const isSlot = typeof registration.name === 'string' && registration.name.startsWith('slot-');
  return isSlot && typeof sessionId === 'string' ? sessionId : registration.name;
}

/**
 * An inspector that sends to a relay at `url` (see `startInspectorServer`). Contexts, events and snapshot
 * fields are bounded by the limits and secrets are redacted; events that happen before the socket opens are
 * buffered (up to `maxDeferredEvents`), so actors spawned at start-up are not lost.
 */
export function createSanitizedInspector(options: SanitizedInspectorOptions): SanitizedInspector {
  const inspector = createWebSocketInspector(inspectorOptions(options));
  let stopped = false;
  return {
    inspect: {
      next: (event) => {
        if (!stopped) inspector.inspect.next?.(event);
      },
      error: () => {},
      complete: () => {},
    },
    stop: () => {
      if (stopped) return;
      stopped = true;
      inspector.stop();
    },
  };
}

export interface StartInspectorOptions extends InspectorServerOptions, SanitizeLimits {
  /** Inspection events buffered until the socket opens. Default 100,000. */
  maxDeferredEvents?: number;
  /** Send machine definitions with actor registrations. Default true. */
  includeDefinitions?: boolean;
  /** How long to wait for the inspector to connect to the relay. Default 5,000 ms. */
  connectTimeoutMs?: number;
}

/** A running relay with a connected inspector. */
export interface RunningInspector {
  /** Pass as the pool's `inspect` option: `new SessionPool({ inspect })`. */
  inspect: Observer<InspectionEvent>;
  /** Open this page in a browser to watch the pool (the UI it frames is hosted by stately.ai). */
  url: string;
  /** The relay's WebSocket URL; more processes can inspect into it with `createSanitizedInspector`. */
  wsUrl: string;
  server: InspectorServer;
  /** Disconnects the inspector, then stops the relay. Idempotent. */
  close(): Promise<void>;
}

/**
 * One call for `--inspect`: starts the relay (loopback, port 0 unless told otherwise), connects a sanitized
 * inspector to it and resolves once connected, so nothing the pool does afterwards waits in a buffer.
 *
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
    const connected = server.nextConnection(timeout);
    inspector = createSanitizedInspector({ ...options, url: server.wsUrl });
    await connected;
  } catch (error) {
    inspector?.stop();
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
    server,
    close() {
      closing ??= (async () => {
        connectedInspector.stop();
        await server.close();
      })();
      return closing;
    },
  };
}
