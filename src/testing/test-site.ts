/**
 * A local website with bot protection, for tests, benchmarks and the demo crawl. It issues a signed session
 * cookie on the first visit (through a 302 cookie check) and requires it afterwards; bans a visitor after
 * `blockAfter` requests or at random; answers 429 with `Retry-After`, captcha pages with status 200, 5xx and slow
 * responses now and then; and has `/go/<n>` links that redirect with a `Set-Cookie` on the 302.
 *
 * Every fate is a hash of (seed, visitor number, request number of that visitor), so a run with the same seed and
 * the same order of requests per visitor is reproducible whatever the concurrency.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenWithFallback } from './listen.js';
import { hash32, unitHash } from './random.js';
import {
  emptyStats,
  type ResolvedTestSiteOptions,
  resolveTestSiteOptions,
  type TestSiteOptions,
  type TestSiteStats,
} from './site-options.js';
import {
  BLOCKED_HTML,
  CAPTCHA_HTML,
  COOKIES_REQUIRED_HTML,
  ERROR_HTML,
  LinkGraph,
  NOT_FOUND_HTML,
  RATE_LIMITED_HTML,
} from './site-pages.js';

/** A running test site. */
export interface TestSite {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  readonly port: number;
  /** Live counters of what the site served. */
  readonly stats: TestSiteStats;
  readonly options: Readonly<ResolvedTestSiteOptions>;
  /** Paths linked from a page (-1 is the home page), for tests that want to know the graph. */
  links(page: number): string[];
  /** Stops the server, dropping open connections and pending slow responses. */
  close(): Promise<void>;
}

interface Visitor {
  ordinal: number;
  requests: number;
  blocked: boolean;
}

/** Visitors remembered at once; the oldest is forgotten beyond (a forgotten cookie is simply re-validated). */
const MAX_VISITORS = 200_000;
const SESSION_COOKIE = 'sid';
const HOP_COOKIE = 'hop';
const COOKIE_CHECK = '__cc=1';
const HTML = 'text/html; charset=utf-8';

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) {
    hash = Math.imul(hash ^ text.charCodeAt(index), 0x01000193);
  }
  return hash >>> 0;
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

type Route = { kind: 'page'; page: number } | { kind: 'go'; page: number } | { kind: 'notFound' };

function route(path: string, pages: number): Route {
  if (path === '/') return { kind: 'page', page: -1 };
  const match = /^\/(page|go)\/(\d{1,9})$/.exec(path);
  if (!match) return { kind: 'notFound' };
  const page = Number(match[2]);
  if (page >= pages) return { kind: 'notFound' };
  return { kind: match[1] === 'go' ? 'go' : 'page', page };
}

/** Starts the test site on 127.0.0.1 (a free port unless `port` is given and free). */
export async function startTestSite(options: TestSiteOptions = {}): Promise<TestSite> {
  const config = resolveTestSiteOptions(options);
  const stats = emptyStats();
  const graph = new LinkGraph(config);
  const visitors = new Map<string, Visitor>();
  // Cumulative cut points of one uniform draw per request: ban, 429, captcha, 5xx, else the page.
  const cutBlock = config.blockRate;
  const cutRateLimit = cutBlock + config.rateLimitRate;
  const cutCaptcha = cutRateLimit + config.captchaRate;
  const cutError = cutCaptcha + config.errorRate;
  const timers = new Set<NodeJS.Timeout>();
  // Cookies from an earlier run with the same seed stay valid (as a real site's would); ids never collide.
  const instance = randomBytes(4).toString('hex');
  let issued = 0;
  let ordinals = 0;

  const sign = (nonce: string) => hash32(config.seed, fnv1a(nonce), 0x5e55).toString(36);

  const remember = (sid: string): Visitor => {
    if (visitors.size >= MAX_VISITORS) {
      const oldest = visitors.keys().next().value;
      if (oldest !== undefined) visitors.delete(oldest);
    }
    const visitor: Visitor = { ordinal: ordinals++, requests: 0, blocked: false };
    visitors.set(sid, visitor);
    return visitor;
  };

  const findVisitor = (sid: string | undefined): Visitor | undefined => {
    if (sid === undefined) return undefined;
    const known = visitors.get(sid);
    if (known) return known;
    const dot = sid.lastIndexOf('.');
    if (dot > 0 && sign(sid.slice(0, dot)) === sid.slice(dot + 1)) return remember(sid);
    stats.invalidCookies += 1;
    return undefined;
  };

  const issue = (): { sid: string; visitor: Visitor } => {
    const nonce = `${instance}${(issued++).toString(36)}`;
    const sid = `${nonce}.${sign(nonce)}`;
    stats.visitorsCreated += 1;
    return { sid, visitor: remember(sid) };
  };

  const send = (
    res: ServerResponse,
    status: number,
    body: string,
    headers: Record<string, string | string[]> = {},
  ) => {
    stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': HTML, 'content-length': Buffer.byteLength(body), ...headers });
    res.end(body);
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    stats.requests += 1;
    const target = req.url ?? '/';
    const queryAt = target.indexOf('?');
    const path = queryAt === -1 ? target : target.slice(0, queryAt);
    const query = queryAt === -1 ? '' : target.slice(queryAt + 1);
    const where = route(path, config.pages);
    if (where.kind === 'notFound') {
      stats.notFound += 1;
      send(res, 404, NOT_FOUND_HTML);
      return;
    }
    const cookieHeader = req.headers.cookie;
    const setCookies: string[] = [];
    let visitor = findVisitor(readCookie(cookieHeader, SESSION_COOKIE));
    if (visitor) {
      stats.requestsWithCookie += 1;
    } else if (config.requireCookies && query.includes(COOKIE_CHECK)) {
      stats.cookiesNotKept += 1;
      send(res, 403, COOKIES_REQUIRED_HTML);
      return;
    } else {
      const fresh = issue();
      const cookie = `${SESSION_COOKIE}=${fresh.sid}; Path=/; HttpOnly; SameSite=Lax`;
      if (config.requireCookies) {
        stats.cookieChecks += 1;
        const location =
          config.cookieCheck === 'sameUrl' ? target : `${target}${queryAt === -1 ? '?' : '&'}${COOKIE_CHECK}`;
        send(res, 302, '', { location, 'set-cookie': cookie });
        return;
      }
      visitor = fresh.visitor;
      setCookies.push(cookie);
    }

    if (visitor.blocked) {
      stats.blockedResponses += 1;
      send(res, 403, BLOCKED_HTML);
      return;
    }
    visitor.requests += 1;
    const fate = unitHash(config.seed, visitor.ordinal, visitor.requests);
    const slow = unitHash(config.seed ^ 0x5bd1e995, visitor.ordinal, visitor.requests) < config.slowRate;
    let status = 200;
    let body: string;
    const headers: Record<string, string | string[]> = {};
    if ((config.blockAfter > 0 && visitor.requests > config.blockAfter) || fate < cutBlock) {
      visitor.blocked = true;
      stats.visitorsBlocked += 1;
      stats.blockedResponses += 1;
      status = 403;
      body = BLOCKED_HTML;
    } else if (fate < cutRateLimit) {
      stats.rateLimited += 1;
      status = 429;
      body = RATE_LIMITED_HTML;
      headers['retry-after'] = String(config.retryAfterSecs);
    } else if (fate < cutCaptcha) {
      stats.captchas += 1;
      body = CAPTCHA_HTML;
    } else if (fate < cutError) {
      stats.serverErrors += 1;
      status = [500, 502, 503][hash32(config.seed, visitor.ordinal, visitor.requests) % 3] ?? 500;
      body = ERROR_HTML;
    } else if (where.kind === 'go') {
      stats.redirects += 1;
      status = 302;
      body = '';
      headers.location = `/page/${where.page}?via=go`;
      setCookies.push(`${HOP_COOKIE}=${where.page}; Path=/; SameSite=Lax`);
    } else {
      if (query.includes('via=go') && readCookie(cookieHeader, HOP_COOKIE) !== String(where.page)) {
        stats.redirectCookiesMissing += 1;
      }
      stats.pagesServed += 1;
      body = graph.html(where.page);
    }
    if (setCookies.length > 0) headers['set-cookie'] = setCookies;
    if (!slow) {
      send(res, status, body, headers);
      return;
    }
    stats.slowResponses += 1;
    const timer = setTimeout(() => {
      timers.delete(timer);
      send(res, status, body, headers);
    }, config.slowMs);
    timers.add(timer);
  };

  const server = createServer({ keepAliveTimeout: 5_000 }, handle);
  const { port } = await listenWithFallback(server, '127.0.0.1', config.port);
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stats,
    options: Object.freeze({ ...config, port }),
    links: (page) => graph.links(page),
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

export type { ResolvedTestSiteOptions, TestSiteOptions, TestSiteStats } from './site-options.js';
export { NO_FAULTS } from './site-options.js';
export { CAPTCHA_MARKER, isCaptchaPage } from './site-pages.js';
