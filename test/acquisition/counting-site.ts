/**
 * A real node:http server on 127.0.0.1 that counts requests per session by a marker the test controls: each
 * session's jar gets a `marker=<session id>` cookie before its first request (in `initSession`), so the count
 * does not depend on a cookie the server sets on a first visit (which races). It also records how many requests
 * of one session were in flight at once. A client that names the session in an `x-session` header (the fleet
 * tests' workers do) has each request's marker checked against it: a cookie of another session is a mismatch.
 *
 * Routes: `/ok` and `/page/<n>` 200, `/block` 403, `/fail` 500, `/slow` 200 after `slowMs`. Every answer waits
 * `delayMs` first.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export const MARKER = 'marker';

export interface CountingSite {
  origin: string;
  /** Requests that reached the server, per marker. */
  count(marker: string): number;
  /** Most requests of one marker in flight at once. */
  maxInFlight(marker: string): number;
  /** Every marker seen. */
  markers(): string[];
  /** Requests that came without a marker. */
  unmarked: number;
  /** Requests whose marker cookie was not the session their `x-session` header named. */
  readonly mismatches: number;
  total: number;
  reset(): void;
  /** Resolves once every connection to the server has closed (no request can still arrive). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

function markerOf(cookie: string | undefined): string | undefined {
  if (!cookie) return undefined;
  for (const part of cookie.split(';')) {
    const [name, value] = part.trim().split('=');
    if (name === MARKER) return value;
  }
  return undefined;
}

export async function startCountingSite(
  options: { delayMs?: number; slowMs?: number } = {},
): Promise<CountingSite> {
  const delayMs = options.delayMs ?? 2;
  const slowMs = options.slowMs ?? 200;
  const counts = new Map<string, number>();
  const inFlight = new Map<string, number>();
  const maxInFlight = new Map<string, number>();
  const sockets = new Set<Socket>();
  const idleWaiters: (() => void)[] = [];
  const state = { unmarked: 0, total: 0, mismatches: 0 };

  const finish = (marker: string | undefined, res: ServerResponse, status: number) => {
    if (!res.writableEnded && !res.destroyed)
      res.writeHead(status, { 'content-type': 'text/plain' }).end(String(status));
    if (marker !== undefined) inFlight.set(marker, (inFlight.get(marker) ?? 1) - 1);
  };

  const server = createServer((req, res) => {
    state.total += 1;
    const marker = markerOf(req.headers.cookie);
    const claimed = req.headers['x-session'];
    if (marker === undefined) state.unmarked += 1;
    else if (claimed !== undefined && claimed !== marker) state.mismatches += 1;
    else {
      counts.set(marker, (counts.get(marker) ?? 0) + 1);
      const now = (inFlight.get(marker) ?? 0) + 1;
      inFlight.set(marker, now);
      maxInFlight.set(marker, Math.max(maxInFlight.get(marker) ?? 0, now));
    }
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const status =
      path === '/block'
        ? 403
        : path === '/fail'
          ? 500
          : path === '/ok' || path === '/slow' || path.startsWith('/page/')
            ? 200
            : 404;
    const wait = delayMs + (path === '/slow' ? slowMs : 0);
    const timer = setTimeout(() => finish(marker, res, status), wait);
    res.on('close', () => {
      if (!res.writableEnded) {
        clearTimeout(timer);
        finish(marker, res, status);
      }
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      if (sockets.size === 0) for (const resolve of idleWaiters.splice(0)) resolve();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    origin: `http://127.0.0.1:${port}`,
    count: (marker) => counts.get(marker) ?? 0,
    maxInFlight: (marker) => maxInFlight.get(marker) ?? 0,
    markers: () => [...counts.keys()],
    get mismatches() {
      return state.mismatches;
    },
    get unmarked() {
      return state.unmarked;
    },
    get total() {
      return state.total;
    },
    reset() {
      counts.clear();
      inFlight.clear();
      maxInFlight.clear();
      state.unmarked = 0;
      state.total = 0;
      state.mismatches = 0;
    },
    idle: () =>
      sockets.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve)),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
