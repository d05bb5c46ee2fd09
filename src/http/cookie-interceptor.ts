/**
 * The innermost interceptor of a session's dispatcher: on every hop (redirects included, since it sits inside
 * the redirect interceptor) it sends the session's cookies and profile headers, and stores every `Set-Cookie`
 * (302s included) into the session's jar. Malformed or oversized cookies are skipped and reported by the session
 * (`cookieRejected`), never thrown.
 */
import type { Dispatcher } from 'undici';
import type { Session } from '../session.js';
import { dispatchUrl, ForwardingHandler } from './handlers.js';
import { mergeRequestHeaders, type PreparedHeaders } from './headers.js';

type Controller = Dispatcher.DispatchController;
type Headers = Parameters<NonNullable<Dispatcher.DispatchHandler['onResponseStart']>>[2];

class CookieStoringHandler extends ForwardingHandler {
  readonly #session: Session;
  readonly #url: string;

  constructor(inner: Dispatcher.DispatchHandler, session: Session, url: string) {
    super(inner);
    this.#session = session;
    this.#url = url;
  }

  override onResponseStart(
    controller: Controller,
    statusCode: number,
    headers: Headers,
    message?: string,
  ): void {
    if (headers['set-cookie'] !== undefined) {
      this.#session.setCookiesFromResponse({
        headers: { 'set-cookie': headers['set-cookie'] },
        url: this.#url,
      });
    }
    super.onResponseStart(controller, statusCode, headers, message);
  }
}

/** Binds a session's jar (and optional header profile) to every request through the composed dispatcher. */
export function createCookieInterceptor(
  session: Session,
  profile?: PreparedHeaders,
): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) =>
    function dispatchWithCookies(opts, handler) {
      const url = dispatchUrl(opts);
      let cookie = '';
      try {
        cookie = session.getCookieString(url);
      } catch {
        // A URL tough-cookie cannot parse gets no cookies; undici reports the URL problem itself.
      }
      const headers = mergeRequestHeaders(opts.headers, cookie, profile);
      return dispatch({ ...opts, headers }, new CookieStoringHandler(handler, session, url));
    };
}
