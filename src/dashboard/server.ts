/**
 * The live dashboard: a page on 127.0.0.1 fed by server-sent events. It only listens to the pool's events and
 * reads sessions on demand, so a slow, broken or vanished browser never slows or breaks the crawl: a client whose
 * buffer backs up is dropped (its EventSource reconnects and gets a fresh snapshot).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { InvalidOptionError } from '../errors.js';
import { numberOption } from '../options.js';
import type { SessionPool } from '../session-pool.js';
import { listenWithFallback } from '../testing/listen.js';
import { DashboardFeed } from './feed.js';
import { dashboardHtml } from './page.js';
import { redact } from './redact.js';

export interface DashboardOptions {
  /** Port on 127.0.0.1; 0 (the default) picks a free one, and a busy port falls back to a free one. */
  port?: number;
  /** How often changes are pushed to browsers, in milliseconds. Default 200. */
  flushIntervalMs?: number;
  /** How long a retired session's tile stays before a new session takes the slot, in ms. Default 3000. */
  retiredLingerMs?: number;
  /** Shown in the page's header. Default `session-supervisor`. */
  title?: string;
}

export interface Dashboard {
  /** e.g. `http://127.0.0.1:40123/` */
  readonly url: string;
  readonly port: number;
  /** True when the port asked for was busy and another was picked. */
  readonly portFellBack: boolean;
  /** Browsers connected right now. */
  readonly clientCount: number;
  /** Tells connected pages the crawl is over (they stop reconnecting). */
  end(): void;
  /** Closes every connection and stops listening to the pool. */
  close(): Promise<void>;
}

/** Bytes a client may fall behind before it is dropped. */
const MAX_CLIENT_BACKLOG = 8 * 1024 * 1024;
const HEARTBEAT_MS = 15_000;
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** Serves the live dashboard of `pool` on 127.0.0.1. */
export async function startDashboard(pool: SessionPool, options: DashboardOptions = {}): Promise<Dashboard> {
  for (const key of Object.keys(options)) {
    if (!['port', 'flushIntervalMs', 'retiredLingerMs', 'title'].includes(key)) {
      throw new InvalidOptionError(key, 'unknown option');
    }
  }
  const port = numberOption('port', options.port, 0, { integer: true, min: 0, max: 65_535 });
  const flushIntervalMs = numberOption('flushIntervalMs', options.flushIntervalMs, 200, {
    integer: true,
    min: 16,
    max: 10_000,
  });
  const retiredLingerMs = numberOption('retiredLingerMs', options.retiredLingerMs, 3000, { min: 0 });
  const html = dashboardHtml(options.title);
  const feed = new DashboardFeed(pool, { now: Date.now, retiredLingerMs });
  const clients = new Set<ServerResponse>();
  let ended = false;

  const drop = (client: ServerResponse) => {
    clients.delete(client);
    if (!client.destroyed) client.destroy();
  };
  const push = (client: ServerResponse, chunk: string) => {
    if (client.destroyed || client.writableEnded) return drop(client);
    if (client.writableLength > MAX_CLIENT_BACKLOG) return drop(client);
    client.write(chunk);
  };
  const broadcast = (chunk: string) => {
    for (const client of clients) push(client, chunk);
  };

  const flush = setInterval(() => {
    const delta = feed.takeDelta();
    // Nobody watching: the changes are dropped, a page that connects later starts from a snapshot.
    if (delta && clients.size > 0) broadcast(`event: delta\ndata: ${JSON.stringify(delta)}\n\n`);
  }, flushIntervalMs);
  flush.unref();
  const heartbeat = setInterval(() => broadcast(': ping\n\n'), HEARTBEAT_MS);
  heartbeat.unref();

  const openStream = (req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      connection: 'keep-alive',
    });
    res.on('error', () => drop(res));
    req.on('close', () => drop(res));
    clients.add(res);
    push(res, `retry: 1000\nevent: snapshot\ndata: ${JSON.stringify(feed.snapshot())}\n\n`);
    if (ended) push(res, 'event: end\ndata: {}\n\n');
  };

  const sendJson = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      ...SECURITY_HEADERS,
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  };

  const sessionDetails = async (res: ServerResponse, id: string) => {
    let live: Awaited<ReturnType<SessionPool['getSession']>>;
    try {
      live = await pool.getSession(id);
    } catch {
      live = undefined; // the pool was torn down: only retired details are left
    }
    const state = live
      ? { ...live.getState(), proxyUrl: live.proxyUrl, headerProfile: live.headerProfile }
      : feed.retiredDetails(id);
    if (!state) return sendJson(res, 404, { error: `no session "${id}"` });
    sendJson(res, 200, redact(state));
  };

  const server = createServer((req, res) => {
    res.on('error', () => {});
    // Only this machine's browsers: a page on another origin that rebinds a DNS name to 127.0.0.1 is refused.
    const host = req.headers.host ?? '';
    if (!/^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/.test(host))
      return sendJson(res, 403, { error: 'bad host' });
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'GET only' });
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === '/' || path === '/index.html') {
      res.writeHead(200, {
        ...SECURITY_HEADERS,
        'content-type': 'text/html; charset=utf-8',
        'content-length': Buffer.byteLength(html),
      });
      return res.end(req.method === 'HEAD' ? undefined : html);
    }
    if (path === '/events') return openStream(req, res);
    if (path === '/api/snapshot') return sendJson(res, 200, feed.snapshot());
    if (path.startsWith('/api/sessions/')) {
      let id: string;
      try {
        id = decodeURIComponent(path.slice('/api/sessions/'.length));
      } catch {
        return sendJson(res, 400, { error: 'bad session id' });
      }
      sessionDetails(res, id).catch(() => sendJson(res, 500, { error: 'could not read the session' }));
      return;
    }
    sendJson(res, 404, { error: 'not found' });
  });
  server.on('clientError', (_error, socket) => socket.destroy());

  const listening = await listenWithFallback(server, '127.0.0.1', port);
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${listening.port}/`,
    port: listening.port,
    portFellBack: listening.fellBack,
    get clientCount() {
      return clients.size;
    },
    end() {
      if (ended) return;
      const delta = feed.takeDelta();
      if (delta) broadcast(`event: delta\ndata: ${JSON.stringify(delta)}\n\n`);
      ended = true;
      broadcast('event: end\ndata: {}\n\n');
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        clearInterval(flush);
        clearInterval(heartbeat);
        feed.detach();
        for (const client of clients) client.end();
        clients.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
