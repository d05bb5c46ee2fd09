/**
 * One request through a dispatcher, read in full: a v7 handler that gathers the body up to `maxBodyBytes`,
 * enforces a whole-request deadline, follows the user's abort signal, and turns every failure into a typed
 * error. No streams are created: the body chunks go straight into one Buffer.
 */
import type { Dispatcher } from 'undici';
import {
  RequestFailedError,
  RequestTimeoutError,
  ResponseTooLargeError,
  TooManyRedirectsError,
} from '../errors.js';
import { REDIRECT_STATUS_CODES } from './handlers.js';
import { responseHeaders } from './headers.js';
import { redactUrl } from './proxy.js';
import type { RequestHeaders } from './types.js';

/** A response read in full, before any outcome is applied. */
export interface RawResponse {
  url: string;
  statusCode: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

export interface CollectOptions {
  method: string;
  headers: RequestHeaders | undefined;
  body: Dispatcher.DispatchOptions['body'];
  timeoutMs: number;
  maxBodyBytes: number;
  maxRedirections: number;
  signal: AbortSignal | undefined;
  /**
   * Called once with what fails the request, for a cause to stop it that is no `AbortSignal` (a fleet lease lost
   * under its holder); returns what forgets it once the request is settled.
   */
  stopWhen?: (stop: (reason: Error) => void) => () => void;
  /** Redacts secrets (proxy credentials) from error messages. */
  scrub: (message: string) => string;
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

class CollectingHandler implements Dispatcher.DispatchHandler {
  readonly #url: URL;
  readonly #options: CollectOptions;
  readonly #resolve: (response: RawResponse) => void;
  readonly #reject: (error: unknown) => void;
  #controller: Dispatcher.DispatchController | undefined;
  #history: URL[] | undefined;
  #settled = false;
  #statusCode = 0;
  #headers: Record<string, string | string[]> = {};
  #chunks: Buffer[] = [];
  #size = 0;
  #timer: NodeJS.Timeout | undefined;
  #forgetStop: (() => void) | undefined;

  constructor(
    url: URL,
    options: CollectOptions,
    resolve: (r: RawResponse) => void,
    reject: (e: unknown) => void,
  ) {
    this.#url = url;
    this.#options = options;
    this.#resolve = resolve;
    this.#reject = reject;
    this.#timer = setTimeout(
      () => this.#fail(new RequestTimeoutError(redactUrl(url), options.timeoutMs)),
      options.timeoutMs,
    );
    options.signal?.addEventListener('abort', this.#onAbort, { once: true });
    this.#forgetStop = options.stopWhen?.((reason) => this.#fail(reason));
  }

  readonly #onAbort = () => this.#fail(this.#options.signal?.reason ?? new Error('aborted'));

  onRequestStart(controller: Dispatcher.DispatchController, context: { history?: URL[] } | undefined): void {
    this.#controller = controller;
    this.#history = context?.history;
    if (this.#settled) controller.abort(new Error('request settled'));
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    this.#controller = controller;
    this.#statusCode = statusCode;
    this.#headers = responseHeaders(headers);
    const history = this.#history;
    const { maxRedirections } = this.#options;
    if (
      REDIRECT_STATUS_CODES.has(statusCode) &&
      this.#headers.location !== undefined &&
      maxRedirections > 0 &&
      history !== undefined &&
      history.length > maxRedirections
    ) {
      this.#fail(new TooManyRedirectsError(redactUrl(this.#url), maxRedirections));
      return;
    }
    const length = Number(this.#headers['content-length']);
    if (Number.isFinite(length) && length > this.#options.maxBodyBytes) {
      this.#fail(new ResponseTooLargeError(redactUrl(this.#url), this.#options.maxBodyBytes));
    }
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#settled) return;
    this.#size += chunk.length;
    if (this.#size > this.#options.maxBodyBytes) {
      this.#fail(new ResponseTooLargeError(redactUrl(this.#url), this.#options.maxBodyBytes));
      return;
    }
    this.#chunks.push(chunk);
  }

  onResponseEnd(): void {
    if (this.#settle()) return;
    const history = this.#history;
    const last = history && history.length > 0 ? history[history.length - 1] : undefined;
    const chunks = this.#chunks;
    this.#resolve({
      url: last ? last.href : this.#url.href,
      statusCode: this.#statusCode,
      headers: this.#headers,
      body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, this.#size),
    });
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.#settled) return;
    this.#fail(this.#translate(error));
  }

  #translate(error: Error): Error {
    const code = (error as { code?: string }).code;
    const href = redactUrl(this.#url);
    if (code !== undefined && TIMEOUT_CODES.has(code))
      return new RequestTimeoutError(href, this.#options.timeoutMs);
    if (/redirect loop/i.test(error.message)) {
      return new TooManyRedirectsError(href, this.#options.maxRedirections, 'redirect loop');
    }
    const message = this.#options.scrub(error.message || String(code ?? 'unknown error'));
    const cause = new Error(message);
    if (code !== undefined) Object.assign(cause, { code });
    return new RequestFailedError(href, message, code, { cause });
  }

  /** Marks the request settled; true if it already was. */
  #settle(): boolean {
    if (this.#settled) return true;
    this.#settled = true;
    clearTimeout(this.#timer);
    this.#options.signal?.removeEventListener('abort', this.#onAbort);
    this.#forgetStop?.();
    return false;
  }

  #fail(error: unknown): void {
    if (this.#settle()) return;
    this.#chunks = [];
    this.#reject(error);
    if (this.#controller && !this.#controller.aborted) this.#controller.abort(error as Error);
  }
}

/** Sends one request through `dispatcher` and reads the whole response. */
export function collect(dispatcher: Dispatcher, url: URL, options: CollectOptions): Promise<RawResponse> {
  return new Promise<RawResponse>((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(options.signal.reason);
      return;
    }
    const handler = new CollectingHandler(url, options, resolve, reject);
    try {
      dispatcher.dispatch(
        {
          origin: url.origin,
          path: `${url.pathname}${url.search}`,
          method: options.method as Dispatcher.HttpMethod,
          headers: options.headers,
          body: options.body ?? null,
          headersTimeout: options.timeoutMs,
          bodyTimeout: options.timeoutMs,
        },
        handler,
      );
    } catch (error) {
      handler.onResponseError(undefined as never, error as Error);
    }
  });
}
