/**
 * Real servers for the HTTP tests, all on 127.0.0.1 port 0: a small site whose routes exercise cookies,
 * redirects, status families and faults, and a forward proxy (CONNECT tunnels and absolute-form requests, with
 * optional Basic auth) written with node:http.
 */

import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import {
  type AddressInfo,
  connect,
  createServer as createNetServer,
  type Server as NetServer,
  type Socket,
} from 'node:net';
import { afterEach } from 'vitest';
import { SessionPool } from '../../src/index.js';

export type Route = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

export interface TestServer {
  server: Server;
  origin: string;
  /** Requests seen, in order. */
  log: { path: string; cookie: string | undefined; headers: IncomingMessage['headers'] }[];
  close(): Promise<void>;
}

/**
 * Listens on 127.0.0.1, port 0, and returns the port and a `close` that destroys open sockets first (keep-alive
 * and tunnelled connections would otherwise hold `server.close()` open).
 */
async function listenOnLoopback(server: NetServer): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A server whose routes are keyed by pathname; unknown paths get 404. */
export async function startSite(routes: Record<string, Route>, host = '127.0.0.1'): Promise<TestServer> {
  const log: TestServer['log'] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
    log.push({ path: url.pathname + url.search, cookie: req.headers.cookie, headers: req.headers });
    const route = routes[url.pathname];
    if (route) route(req, res, url);
    else res.writeHead(404).end('not found');
  });
  const { port, close } = await listenOnLoopback(server);
  return { server, origin: `http://${host}:${port}`, log, close };
}

export interface TestProxy {
  url: string;
  port: number;
  /** One entry per proxied request or tunnel: the target and the Proxy-Authorization received. */
  log: { kind: 'connect' | 'forward'; target: string; auth: string | undefined }[];
  close(): Promise<void>;
}

/** A forward proxy; with `credentials`, requests without the right Basic auth get 407. */
export async function startProxy(credentials?: { user: string; pass: string }): Promise<TestProxy> {
  const log: TestProxy['log'] = [];
  const expected = credentials
    ? `Basic ${Buffer.from(`${credentials.user}:${credentials.pass}`).toString('base64')}`
    : undefined;
  const server = createServer((req, res) => {
    const auth = req.headers['proxy-authorization'];
    log.push({ kind: 'forward', target: req.url ?? '', auth });
    if (expected && auth !== expected) {
      res.writeHead(407, { 'proxy-authenticate': 'Basic' }).end();
      return;
    }
    const target = new URL(req.url ?? '');
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    delete headers['proxy-connection'];
    const upstream = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname + target.search,
        method: req.method,
        headers,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    const auth = req.headers['proxy-authorization'];
    log.push({ kind: 'connect', target: req.url ?? '', auth });
    if (expected && auth !== expected) {
      client.end(
        'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\nContent-Length: 0\r\n\r\n',
      );
      return;
    }
    const [host, port] = (req.url ?? '').split(':');
    const upstream = connect(Number(port), host ?? '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  const { port, close } = await listenOnLoopback(server);
  return { url: `http://127.0.0.1:${port}`, port, log, close };
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Route: answers 200 with the request's cookie header as the body. */
export const echoCookies: Route = (req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' }).end(req.headers.cookie ?? '');
};

/**
 * Per-test cleanup for HTTP tests: pools opened with `open` are torn down after each test, then every server,
 * proxy or other resource registered with `defer` (or started with `site`) is closed.
 */
export function useCleanup() {
  const pools: SessionPool[] = [];
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((pool) => pool.teardown()));
    await Promise.all(closers.splice(0).map((close) => close()));
  });
  return {
    async open(options: ConstructorParameters<typeof SessionPool>[0] = {}): Promise<SessionPool> {
      const pool = await SessionPool.open(options);
      pools.push(pool);
      return pool;
    },
    async site(routes: Record<string, Route>, host?: string): Promise<TestServer> {
      const server = await startSite(routes, host);
      closers.push(() => server.close());
      return server;
    },
    defer(close: () => Promise<void>): void {
      closers.push(close);
    },
  };
}

/** A SOCKS5 proxy (RFC 1928, CONNECT only), with username/password auth (RFC 1929) when `credentials` are given. */
export async function startSocks5Proxy(credentials?: { user: string; pass: string }): Promise<TestProxy> {
  const log: TestProxy['log'] = [];
  const server = createNetServer((client) => {
    client.on('error', () => client.destroy());
    void negotiate(client, credentials, log).catch(() => client.destroy());
  });
  const { port, close } = await listenOnLoopback(server);
  const auth = credentials ? `${credentials.user}:${credentials.pass}@` : '';
  return { url: `socks5://${auth}127.0.0.1:${port}`, port, log, close };
}

/** Reads exactly `length` bytes from a socket that is not flowing yet. */
function readBytes(socket: Socket, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const tryRead = () => {
      const chunk = socket.read(length) as Buffer | null;
      if (chunk) {
        socket.off('readable', tryRead);
        socket.off('end', onEnd);
        resolve(chunk);
      }
    };
    const onEnd = () => reject(new Error('socks5: client closed'));
    socket.on('readable', tryRead);
    socket.once('end', onEnd);
    tryRead();
  });
}

async function negotiate(
  client: Socket,
  credentials: { user: string; pass: string } | undefined,
  log: TestProxy['log'],
): Promise<void> {
  const [version, methodCount] = await readBytes(client, 2);
  const methods = [...(await readBytes(client, methodCount ?? 0))];
  const wanted = credentials ? 0x02 : 0x00;
  if (version !== 5 || !methods.includes(wanted)) {
    client.end(Buffer.from([5, 0xff]));
    return;
  }
  client.write(Buffer.from([5, wanted]));
  let auth: string | undefined;
  if (credentials) {
    await readBytes(client, 1);
    const user = (await readBytes(client, (await readBytes(client, 1))[0] ?? 0)).toString();
    const pass = (await readBytes(client, (await readBytes(client, 1))[0] ?? 0)).toString();
    auth = `${user}:${pass}`;
    const ok = user === credentials.user && pass === credentials.pass;
    client.write(Buffer.from([1, ok ? 0 : 1]));
    if (!ok) {
      client.end();
      return;
    }
  }
  const [, command, , addressType] = await readBytes(client, 4);
  let host: string;
  if (addressType === 1) host = [...(await readBytes(client, 4))].join('.');
  else if (addressType === 3)
    host = (await readBytes(client, (await readBytes(client, 1))[0] ?? 0)).toString();
  else {
    client.end(Buffer.from([5, 8, 0, 1, 0, 0, 0, 0, 0, 0]));
    return;
  }
  const port = (await readBytes(client, 2)).readUInt16BE(0);
  if (command !== 1) {
    client.end(Buffer.from([5, 7, 0, 1, 0, 0, 0, 0, 0, 0]));
    return;
  }
  log.push({ kind: 'connect', target: `${host}:${port}`, auth });
  const upstream = connect(port, host, () => {
    client.write(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]));
    upstream.pipe(client);
    client.pipe(upstream);
  });
  upstream.on('error', () => client.end(Buffer.from([5, 5, 0, 1, 0, 0, 0, 0, 0, 0])));
  client.on('close', () => upstream.destroy());
}
