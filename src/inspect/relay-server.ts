/**
 * A local relay between an inspected process and the Stately inspector UI, speaking the same protocol as
 * `createInspectorServer` from `@statelyai/inspect/server`: producers send inspection events as WebSocket text
 * messages, every other connected client receives them, and the HTTP page frames the hosted inspector and posts
 * the events into it.
 *
 * Why not that server as it is: it listens on every network interface (the page shows session data), cannot
 * listen on port 0 or tell which port it got, stops without waiting, and replays only its last 200 messages to
 * a browser that connects late — so with 10,000 sessions a browser opened after start-up never learns the actors
 * exist. This relay binds to loopback by default, refuses WebSocket connections from other web pages, and keeps
 * the registration and latest snapshot of every live actor for late browsers.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { InspectorStartError, InvalidOptionError } from '../errors.js';
import { numberOption } from '../options.js';
import { bridgePage } from './bridge-page.js';
import { ReplayBuffer } from './replay-buffer.js';

/** The part of the `ws` package this relay uses (`ws` ships with `@statelyai/inspect`, without types). */
interface WsSocket {
  readonly readyState: number;
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
}

export interface InspectorServer {
  /** The page to open in a browser, e.g. `http://127.0.0.1:41234/`. */
  readonly url: string;
  /** Where inspectors connect, e.g. `ws://127.0.0.1:41234`. */
  readonly wsUrl: string;
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

/** A browser page may connect only if it is our own bridge page; Node clients send no Origin. */
function isAllowedOrigin(request: IncomingMessage, port: number): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  try {
    const url = new URL(origin);
    const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
    return url.port === String(port) && (loopback || url.host === request.headers.host);
  } catch {
    return false;
  }
}

function validate(options: InspectorServerOptions): Required<InspectorServerOptions> {
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
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 * 1024 });
  const replay = new ReplayBuffer(config.maxReplayActors, config.maxReplayEvents);
  const waiters = new Set<() => void>();
  let page = '';
  const http = createServer((request, response) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    response.end(request.method === 'HEAD' ? undefined : page);
  });
  const port = await listen(http, config.host, config.port);
  page = bridgePage(config.inspectorUrl);

  http.on('upgrade', (request, socket, head) => {
    if (!isAllowedOrigin(request, port)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(request, socket, head, (client) => {
      for (const message of replay.messages()) client.send(message);
      client.on('message', (data, isBinary) => {
        if (isBinary) return;
        const message = Array.isArray(data)
          ? Buffer.concat(data).toString()
          : Buffer.from(data as ArrayBuffer).toString();
        replay.record(message);
        for (const other of wss.clients)
          if (other !== client && other.readyState === OPEN) other.send(message);
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
