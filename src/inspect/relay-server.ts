/**
 * A local relay between an inspected process and the Stately inspector UI, speaking the same protocol as
 * `createInspectorServer` from `@statelyai/inspect/server`: producers send inspection events as WebSocket text
 * messages, every other connected client receives them, and the HTTP page frames the hosted inspector and posts
 * the events into it.
 *
 * Why not that server as it is: it listens on every network interface (the page shows session data), cannot
 * listen on port 0 or tell which port it got, stops without waiting, and replays only its last 200 messages to
 * a browser that connects late — so with 10,000 sessions a browser opened after start-up never learns the actors
 * exist. It also takes messages from any client and sends them to every other one, so any local program or web
 * page could inject actors into the user's inspector. This relay binds to loopback by default; answers only
 * requests whose `Host` is a loopback name and whose `Origin`, if any, is its own page (as the dashboard does: a
 * page that rebinds a DNS name to 127.0.0.1 is refused); relays only what producers holding its random token
 * send, to viewers only; bounds each message and the replay kept for late browsers by bytes; and keeps the
 * registration and latest snapshot of every live actor for those browsers.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { InspectorStartError, InvalidOptionError } from '../errors.js';
import { numberOption } from '../options.js';
import { bridgePage } from './bridge-page.js';
import { ReplayBuffer } from './replay-buffer.js';

/** The part of the `ws` package this relay uses (`ws` ships with `@statelyai/inspect`, without types). */
interface WsSocket {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string): void;
  terminate(): void;
  on(event: 'message', listener: (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void): void;
  on(event: 'close' | 'error', listener: () => void): void;
}
interface WsServer {
  readonly clients: Set<WsSocket>;
  handleUpgrade(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    callback: (socket: WsSocket) => void,
  ): void;
  close(callback?: () => void): void;
}
interface WsModule {
  WebSocketServer: new (options: { noServer: true; maxPayload: number }) => WsServer;
}

const OPEN = 1;
const WS_PACKAGE = 'ws';

export interface InspectorServerOptions {
  /** Interface to listen on. Default `127.0.0.1` (loopback only). */
  host?: string;
  /** Port; 0 picks a free one (read it from `port` or `url`). Default 0. */
  port?: number;
  /** The inspector UI the page frames. Default `https://stately.ai/inspect` (needs internet). */
  inspectorUrl?: string;
  /** Live actors whose registration and latest snapshot are replayed to late browsers. Default 100,000. */
  maxReplayActors?: number;
  /** Most recent `@xstate.event` messages replayed to late browsers. Default 1,000. */
  maxReplayEvents?: number;
  /**
   * Bytes of everything kept for late browsers; beyond it the oldest events, then the oldest actors, are
   * dropped from the replay (they are still relayed live). Default 128 MiB.
   */
  maxReplayBytes?: number;
  /** Largest WebSocket message accepted; a client sending a larger one is disconnected. Default 1 MiB. */
  maxMessageBytes?: number;
}

export interface InspectorServer {
  /** The page to open in a browser, e.g. `http://127.0.0.1:41234/`. */
  readonly url: string;
  /** Where viewers (the bridge page, other readers) connect, e.g. `ws://127.0.0.1:41234`. They only receive. */
  readonly wsUrl: string;
  /**
   * Where producers connect: `wsUrl` with the relay's random token (`?token=…`). Only messages from producers
   * are relayed, so pass this, not `wsUrl`, to `createSanitizedInspector`. Treat it as a secret.
   */
  readonly producerUrl: string;
  readonly host: string;
  readonly port: number;
  /** Connected WebSocket clients (inspected processes and browsers). */
  readonly clientCount: number;
  /** Resolves at the next WebSocket connection; rejects after `timeoutMs`. */
  nextConnection(timeoutMs: number): Promise<void>;
  /** Disconnects every client and stops listening. Idempotent. */
  close(): Promise<void>;
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** The `Host` names the dashboard answers to: this machine only, any port (an SSH tunnel may change it). */
const LOOPBACK_HOST = /^(127\.0\.0\.1|localhost|\[::1\])(:\d{1,5})?$/;

/**
 * Only requests for this machine's names (or, when the relay was told to listen elsewhere, for exactly that
 * address): a page on another origin that rebinds its DNS name to 127.0.0.1 sends its own name as `Host`.
 */
function isAllowedHost(request: IncomingMessage, ownHost: string): boolean {
  const host = request.headers.host ?? '';
  return LOOPBACK_HOST.test(host) || host === ownHost;
}

/** A browser page may connect only from our own bridge page, i.e. the origin of the `Host` it asked for. */
function isAllowedOrigin(request: IncomingMessage): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true; // not a browser: Node clients send no Origin
  return origin === `http://${request.headers.host ?? ''}`;
}

function hasToken(request: IncomingMessage, token: Buffer): boolean {
  let given: string | null;
  try {
    given = new URL(request.url ?? '/', 'http://relay').searchParams.get('token');
  } catch {
    return false;
  }
  if (given === null) return false;
  const candidate = Buffer.from(given);
  return candidate.length === token.length && timingSafeEqual(candidate, token);
}

/** Bytes a viewer may fall behind before it is dropped (its page reconnects and gets the replay). */
const MAX_CLIENT_BACKLOG = 64 * 1024 * 1024;

function validate(options: InspectorServerOptions): Required<InspectorServerOptions> {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', 'expected an object');
  }
  const host = options.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host.length === 0) {
    throw new InvalidOptionError('host', 'expected a non-empty string');
  }
  const inspectorUrl = options.inspectorUrl ?? 'https://stately.ai/inspect';
  try {
    new URL(inspectorUrl);
  } catch {
    throw new InvalidOptionError('inspectorUrl', `not a valid absolute URL: ${String(inspectorUrl)}`);
  }
  return {
    host,
    port: numberOption('port', options.port, 0, { integer: true, min: 0, max: 65_535 }),
    inspectorUrl,
    maxReplayActors: numberOption('maxReplayActors', options.maxReplayActors, 100_000, {
      integer: true,
      min: 0,
    }),
    maxReplayEvents: numberOption('maxReplayEvents', options.maxReplayEvents, 1_000, {
      integer: true,
      min: 0,
    }),
    maxReplayBytes: numberOption('maxReplayBytes', options.maxReplayBytes, 128 * 1024 * 1024, {
      integer: true,
      min: 0,
    }),
    maxMessageBytes: numberOption('maxMessageBytes', options.maxMessageBytes, 1024 * 1024, {
      integer: true,
      min: 1024,
      max: 256 * 1024 * 1024,
    }),
  };
}

async function listen(server: Server, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(
        new InspectorStartError(`cannot listen on ${host}:${port} (${error.code ?? error.message})`, {
          cause: error,
        }),
      );
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string')
    throw new InspectorStartError('the server has no TCP address');
  return address.port;
}

/** Starts the relay; resolves once it is listening. */
export async function startInspectorServer(options: InspectorServerOptions = {}): Promise<InspectorServer> {
  const config = validate(options);
  const { WebSocketServer } = (await import(WS_PACKAGE)) as WsModule;
  const wss = new WebSocketServer({ noServer: true, maxPayload: config.maxMessageBytes });
  const replay = new ReplayBuffer({
    maxActors: config.maxReplayActors,
    maxEvents: config.maxReplayEvents,
    maxBytes: config.maxReplayBytes,
  });
  const tokenText = randomBytes(24).toString('hex');
  const token = Buffer.from(tokenText);
  const producers = new WeakSet<WsSocket>();
  const waiters = new Set<() => void>();
  let page = '';
  let ownHost = '';
  const http = createServer((request, response) => {
    if (!isAllowedHost(request, ownHost)) {
      response.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' }).end('bad host');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    response.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
    response.end(request.method === 'HEAD' ? undefined : page);
  });
  const port = await listen(http, config.host, config.port);
  ownHost = `${hostForUrl(config.host)}:${port}`;
  page = bridgePage(config.inspectorUrl);

  http.on('upgrade', (request, socket, head) => {
    socket.on('error', () => socket.destroy());
    if (!isAllowedHost(request, ownHost) || !isAllowedOrigin(request)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      return;
    }
    const producer = hasToken(request, token);
    wss.handleUpgrade(request, socket, head, (client) => {
      if (producer) producers.add(client);
      else for (const message of replay.messages()) client.send(message);
      client.on('message', (data, isBinary) => {
        // Viewers only listen: whatever they send is dropped, so nothing but our own stream reaches the UI.
        if (isBinary || !producers.has(client)) return;
        const message = Array.isArray(data)
          ? Buffer.concat(data).toString()
          : Buffer.from(data as ArrayBuffer).toString();
        replay.record(message);
        for (const other of wss.clients) {
          if (producers.has(other) || other.readyState !== OPEN) continue;
          if (other.bufferedAmount > MAX_CLIENT_BACKLOG) other.terminate();
          else other.send(message);
        }
      });
      client.on('error', () => client.terminate());
      for (const wake of [...waiters]) wake();
    });
  });

  const base = `${hostForUrl(config.host)}:${port}`;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${base}/`,
    wsUrl: `ws://${base}`,
    producerUrl: `ws://${base}/?token=${tokenText}`,
    host: config.host,
    port,
    get clientCount() {
      return wss.clients.size;
    },
    nextConnection(timeoutMs) {
      return new Promise<void>((resolve, reject) => {
        const wake = () => {
          clearTimeout(timer);
          waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(wake);
          reject(new InspectorStartError(`no inspector connected to ws://${base} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(wake);
      });
    },
    close() {
      closing ??= (async () => {
        // `ws` reports the server closed once its last client has gone, so clientCount is 0 afterwards.
        const clientsGone = new Promise<void>((resolve) => wss.close(() => resolve()));
        for (const client of wss.clients) client.terminate();
        await clientsGone;
        await new Promise<void>((resolve) => {
          http.close(() => resolve());
          http.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}
