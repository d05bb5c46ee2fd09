/**
 * The fleet tests' site: a real node:http server on 127.0.0.1 that counts requests per session by the marker
 * cookie each session carries (`marker=<session id>`, set by `initSession`), records the most requests of one
 * marker in flight at once, and checks each request's marker against the `x-session` header the worker sends
 * with it: a request whose cookie belongs to another session is a mismatch.
 */
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export const MARKER = 'marker';

export interface FleetSite {
  origin: string;
  count(marker: string): number;
  maxInFlight(marker: string): number;
  markers(): string[];
  readonly total: number;
  readonly unmarked: number;
  /** Requests whose marker cookie was not the session named by their `x-session` header. */
  readonly mismatches: number;
  close(): Promise<void>;
}

function markerOf(cookie: string | undefined): string | undefined {
  for (const part of (cookie ?? '').split(';')) {
    const [name, value] = part.trim().split('=');
    if (name === MARKER) return value;
  }
  return undefined;
}

export async function startFleetSite(delayMs = 3): Promise<FleetSite> {
  const counts = new Map<string, number>();
  const inFlight = new Map<string, number>();
  const maxInFlight = new Map<string, number>();
  const sockets = new Set<Socket>();
  const state = { total: 0, unmarked: 0, mismatches: 0 };
  const server = createServer((req, res) => {
    state.total += 1;
    const marker = markerOf(req.headers.cookie);
    const claimed = req.headers['x-session'];
    if (marker === undefined) state.unmarked += 1;
    else {
      if (claimed !== undefined && claimed !== marker) state.mismatches += 1;
      counts.set(marker, (counts.get(marker) ?? 0) + 1);
      const now = (inFlight.get(marker) ?? 0) + 1;
      inFlight.set(marker, now);
      maxInFlight.set(marker, Math.max(maxInFlight.get(marker) ?? 0, now));
    }
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      if (marker !== undefined) inFlight.set(marker, (inFlight.get(marker) ?? 1) - 1);
    };
    const timer = setTimeout(() => {
      finish();
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    }, delayMs);
    res.on('close', () => {
      clearTimeout(timer);
      finish();
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    count: (marker) => counts.get(marker) ?? 0,
    maxInFlight: (marker) => maxInFlight.get(marker) ?? 0,
    markers: () => [...counts.keys()],
    get total() {
      return state.total;
    },
    get unmarked() {
      return state.unmarked;
    },
    get mismatches() {
      return state.mismatches;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
