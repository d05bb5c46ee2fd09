/** The test site's content: a seeded link graph and the HTML of its pages, captcha and error pages. */
import { hash32, mulberry32 } from './random.js';

/** Marker present in every captcha page the test site serves; a session checker can look for it. */
export const CAPTCHA_MARKER = 'data-captcha="challenge"';

/** Whether a response body is the test site's captcha page (served with status 200). */
export function isCaptchaPage(body: string | Buffer): boolean {
  return body.includes(CAPTCHA_MARKER);
}

export interface LinkGraphOptions {
  seed: number;
  pages: number;
  linksPerPage: number;
  redirectRate: number;
}

/**
 * The link graph, built lazily page by page: every page links to the next one (so the whole graph is reachable
 * from `/`) and to `linksPerPage - 1` others chosen from the seed; a share of links goes through `/go/<n>`.
 */
export class LinkGraph {
  readonly #options: LinkGraphOptions;
  readonly #html = new Map<number, string>();

  constructor(options: LinkGraphOptions) {
    this.#options = options;
  }

  /** Paths linked from page `page` (-1 is the home page). */
  links(page: number): string[] {
    const { seed, pages, linksPerPage, redirectRate } = this.#options;
    const random = mulberry32(hash32(seed, page + 1, 0x11));
    const targets = [(page + 1) % pages];
    while (targets.length < Math.min(linksPerPage, pages)) {
      const target = Math.floor(random() * pages);
      if (!targets.includes(target)) targets.push(target);
    }
    return targets.map((target) => (random() < redirectRate ? `/go/${target}` : `/page/${target}`));
  }

  /** HTML of page `page` (-1 is the home page); cached, since a crawl asks for each page about once per visitor. */
  html(page: number): string {
    let html = this.#html.get(page);
    if (html === undefined) {
      const title = page < 0 ? 'Home' : `Page ${page}`;
      const items = this.links(page)
        .map((href) => `<li><a href="${href}">${href}</a></li>`)
        .join('');
      html =
        `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body>` +
        `<h1>${title}</h1><p>Item ${page} of the session-supervisor test site.</p><ul>${items}</ul></body></html>`;
      // Bounded: a throughput run over a huge graph must not keep every page.
      if (this.#html.size < 20_000) this.#html.set(page, html);
    }
    return html;
  }
}

export const CAPTCHA_HTML =
  '<!doctype html><html><head><meta charset="utf-8"><title>Are you a robot?</title></head><body>' +
  `<div ${CAPTCHA_MARKER}><h1>Please verify you are human</h1><p>Solve the challenge to continue.</p></div>` +
  '</body></html>';

export const BLOCKED_HTML =
  '<!doctype html><html><head><meta charset="utf-8"><title>Access denied</title></head><body>' +
  '<h1>Access denied</h1><p>Your session has been blocked.</p></body></html>';

export const COOKIES_REQUIRED_HTML =
  '<!doctype html><html><head><meta charset="utf-8"><title>Cookies required</title></head><body>' +
  '<h1>Cookies required</h1><p>Enable cookies to visit this site.</p></body></html>';

export const RATE_LIMITED_HTML =
  '<!doctype html><html><head><meta charset="utf-8"><title>Too many requests</title></head><body>' +
  '<h1>Too many requests</h1></body></html>';

export const ERROR_HTML =
  '<!doctype html><html><head><meta charset="utf-8"><title>Server error</title></head><body>' +
  '<h1>Something went wrong</h1></body></html>';

export const NOT_FOUND_HTML =
  '<!doctype html><html><head><meta charset="utf-8"><title>Not found</title></head><body>' +
  '<h1>Not found</h1></body></html>';
