/**
 * Cleanup for the integration tests: pools, sites, browsers and servers registered here are closed after each
 * test, newest first. Servers are real node:http servers on 127.0.0.1.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach } from 'vitest';
import { SessionPool } from '../../src/session-pool.js';
import { startTestSite, type TestSite, type TestSiteOptions } from '../../src/testing/test-site.js';

export type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

export interface LoopbackServer {
  origin: string;
  /** Requests seen, in order. */
  log: { path: string; headers: IncomingMessage['headers'] }[];
  close(): Promise<void>;
}

export function useIntegrationCleanup() {
  const closers: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });
  return {
    async pool(options: ConstructorParameters<typeof SessionPool>[0] = {}): Promise<SessionPool> {
      const pool = await SessionPool.open(options);
      closers.push(() => pool.teardown());
      return pool;
    },
    async site(options: TestSiteOptions = {}): Promise<TestSite> {
      const site = await startTestSite(options);
      closers.push(() => site.close());
      return site;
    },
    async server(routes: Record<string, Handler>): Promise<LoopbackServer> {
      const log: LoopbackServer['log'] = [];
      const sockets = new Set<Socket>();
      const server = createServer((req, res) => {
        const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
        log.push({ path: url.pathname + url.search, headers: req.headers });
        const route = routes[url.pathname];
        if (route) route(req, res, url);
        else res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      });
      server.on('connection', (socket: Socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      const close = () =>
        new Promise<void>((resolve) => {
          for (const socket of sockets) socket.destroy();
          server.close(() => resolve());
        });
      closers.push(close);
      return { origin: `http://127.0.0.1:${port}`, log, close };
    },
    defer(close: () => Promise<unknown>): void {
      closers.push(close);
    },
  };
}

export const HTML = { 'content-type': 'text/html; charset=utf-8' };
