/** Options and counters of the bundled test site. */
import { InvalidOptionError } from '../errors.js';
import { numberOption } from '../options.js';

/** How the bundled test site behaves. Every rate is a probability per guarded request, in [0, 1]. */
export interface TestSiteOptions {
  /** Seed of the link graph and of every request's fate. Default 1. */
  seed?: number;
  /** Pages in the link graph (`/page/0` … `/page/<pages-1>`). Default 5000. */
  pages?: number;
  /** Links on each page. Default 6. */
  linksPerPage?: number;
  /** Requests one visitor (session cookie) may make before it is banned with 403; 0 never bans. Default 100. */
  blockAfter?: number;
  /** Chance that a request bans its visitor (403 from then on). Default 0.005. */
  blockRate?: number;
  /** Chance of a 429 with `Retry-After`. Default 0.01. */
  rateLimitRate?: number;
  /** The `Retry-After` of a 429, in seconds. Default 1. */
  retryAfterSecs?: number;
  /** Chance of a captcha page served with status 200. Default 0.005. */
  captchaRate?: number;
  /** Chance of a 500, 502 or 503. Default 0.01. */
  errorRate?: number;
  /** Chance that a response is delayed by `slowMs`. Default 0.01. */
  slowRate?: number;
  /** Delay of a slow response, in milliseconds. Default 300. */
  slowMs?: number;
  /** Share of links that go through `/go/<n>`, a 302 that sets a cookie. Default 0.1. */
  redirectRate?: number;
  /**
   * Whether a visitor must keep the session cookie: a request without it is redirected (302 + `Set-Cookie`) to a
   * cookie check, and a client that comes back still without it gets 403. When false, a first visit is served
   * directly (with the cookie set). Default true.
   */
  requireCookies?: boolean;
  /**
   * Where the cookie check's 302 points: `'query'` to the same path with `?__cc=1` added (a returning client
   * without the cookie then gets 403), `'sameUrl'` to the request's very own URL, as many anti-bot pages do (a
   * client that does not keep the cookie is redirected again and again, until it gives up). Default `'query'`.
   */
  cookieCheck?: 'query' | 'sameUrl';
  /** Port on 127.0.0.1; 0 picks a free one. Default 0. */
  port?: number;
}

/**
 * Every fault off: no bans, rate limits, captchas, 5xx or slow responses. Spread it and turn on only what a test
 * is about, e.g. `startTestSite({ ...NO_FAULTS, errorRate: 0.05 })`. Redirects and the cookie check stay on.
 */
export const NO_FAULTS: Readonly<TestSiteOptions> = Object.freeze({
  blockAfter: 0,
  blockRate: 0,
  rateLimitRate: 0,
  captchaRate: 0,
  errorRate: 0,
  slowRate: 0,
});

export interface ResolvedTestSiteOptions {
  seed: number;
  pages: number;
  linksPerPage: number;
  blockAfter: number;
  blockRate: number;
  rateLimitRate: number;
  retryAfterSecs: number;
  captchaRate: number;
  errorRate: number;
  slowRate: number;
  slowMs: number;
  redirectRate: number;
  requireCookies: boolean;
  cookieCheck: 'query' | 'sameUrl';
  port: number;
}

/** What the site served, counted as it happens (a live object: read it any time). */
export interface TestSiteStats {
  /** Every request received. */
  requests: number;
  /** Responses by status code. */
  byStatus: Record<number, number>;
  /** Real pages served with 200 (captcha pages not included). */
  pagesServed: number;
  /** Session cookies issued, i.e. new visitors. */
  visitorsCreated: number;
  /** Requests that came back carrying a valid session cookie. */
  requestsWithCookie: number;
  /** 302s to the cookie check, sent to requests without a session cookie. */
  cookieChecks: number;
  /** 403s to clients that came back from the cookie check without the cookie. */
  cookiesNotKept: number;
  /** Session cookies that failed the signature check (forged or from a site with another seed). */
  invalidCookies: number;
  /** Visitors banned (after `blockAfter` requests or at random). */
  visitorsBlocked: number;
  /** 403s sent to banned visitors, the banning request included. */
  blockedResponses: number;
  /** 429s sent. */
  rateLimited: number;
  /** Captcha pages sent (status 200). */
  captchas: number;
  /** 5xx sent. */
  serverErrors: number;
  /** Responses delayed by `slowMs`. */
  slowResponses: number;
  /** 302s from `/go/<n>` links, each with a `Set-Cookie`. */
  redirects: number;
  /** Arrivals from a `/go/<n>` redirect that did not carry the cookie set on the 302. */
  redirectCookiesMissing: number;
  /** 404s. */
  notFound: number;
}

const OPTION_NAMES = new Set([
  'seed',
  'pages',
  'linksPerPage',
  'blockAfter',
  'blockRate',
  'rateLimitRate',
  'retryAfterSecs',
  'captchaRate',
  'errorRate',
  'slowRate',
  'slowMs',
  'redirectRate',
  'requireCookies',
  'cookieCheck',
  'port',
]);

const rate = (field: string, value: unknown, fallback: number) =>
  numberOption(field, value, fallback, { min: 0, max: 1 });

/** Validates the site's options; throws `InvalidOptionError` naming the first bad field. */
export function resolveTestSiteOptions(options: unknown): ResolvedTestSiteOptions {
  const input = options ?? {};
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw new InvalidOptionError('options', 'expected an object');
  }
  const raw = input as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (!OPTION_NAMES.has(key)) throw new InvalidOptionError(key, 'unknown option');
  }
  if (raw.requireCookies !== undefined && typeof raw.requireCookies !== 'boolean') {
    throw new InvalidOptionError('requireCookies', 'expected a boolean');
  }
  if (raw.cookieCheck !== undefined && raw.cookieCheck !== 'query' && raw.cookieCheck !== 'sameUrl') {
    throw new InvalidOptionError(
      'cookieCheck',
      `expected 'query' or 'sameUrl', got ${String(raw.cookieCheck)}`,
    );
  }
  const resolved: ResolvedTestSiteOptions = {
    seed: numberOption('seed', raw.seed, 1, { integer: true, min: 0, max: 0xffffffff }),
    pages: numberOption('pages', raw.pages, 5000, { integer: true, min: 1, max: 10_000_000 }),
    linksPerPage: numberOption('linksPerPage', raw.linksPerPage, 6, { integer: true, min: 1, max: 100 }),
    blockAfter: numberOption('blockAfter', raw.blockAfter, 100, { integer: true, min: 0 }),
    blockRate: rate('blockRate', raw.blockRate, 0.005),
    rateLimitRate: rate('rateLimitRate', raw.rateLimitRate, 0.01),
    retryAfterSecs: numberOption('retryAfterSecs', raw.retryAfterSecs, 1, { integer: true, min: 0 }),
    captchaRate: rate('captchaRate', raw.captchaRate, 0.005),
    errorRate: rate('errorRate', raw.errorRate, 0.01),
    slowRate: rate('slowRate', raw.slowRate, 0.01),
    slowMs: numberOption('slowMs', raw.slowMs, 300, { integer: true, min: 0, max: 60_000 }),
    redirectRate: rate('redirectRate', raw.redirectRate, 0.1),
    requireCookies: (raw.requireCookies as boolean | undefined) ?? true,
    cookieCheck: (raw.cookieCheck as 'query' | 'sameUrl' | undefined) ?? 'query',
    port: numberOption('port', raw.port, 0, { integer: true, min: 0, max: 65_535 }),
  };
  const total = resolved.blockRate + resolved.rateLimitRate + resolved.captchaRate + resolved.errorRate;
  if (total > 1) {
    throw new InvalidOptionError(
      'blockRate',
      `blockRate + rateLimitRate + captchaRate + errorRate must be at most 1, got ${total}`,
    );
  }
  return resolved;
}

export function emptyStats(): TestSiteStats {
  return {
    requests: 0,
    byStatus: {},
    pagesServed: 0,
    visitorsCreated: 0,
    requestsWithCookie: 0,
    cookieChecks: 0,
    cookiesNotKept: 0,
    invalidCookies: 0,
    visitorsBlocked: 0,
    blockedResponses: 0,
    rateLimited: 0,
    captchas: 0,
    serverErrors: 0,
    slowResponses: 0,
    redirects: 0,
    redirectCookiesMissing: 0,
    notFound: 0,
  };
}
