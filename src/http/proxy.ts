/**
 * Proxy URLs: validation, credential redaction, and one undici dispatcher per session. Credentials live only in
 * the `ProxyConfig` held by the HTTP layer (never in machine context), and every string that may reach a log, an
 * event, an error or a snapshot goes through `redactUrl` (from the library's one redactor, `src/redact.ts`).
 */
import { Agent, ProxyAgent } from 'undici';
import { InvalidOptionError } from '../errors.js';
import { redactUrl } from '../redact.js';

// The one redactor (src/redact.ts) decides how a proxy URL is shown; it is re-exported for the HTTP layer.
export { redactUrl };

const PROXY_PROTOCOLS = new Set(['http:', 'https:', 'socks5:', 'socks:']);

/** A validated proxy: the real URL (with credentials) and its redacted form for display. */
export interface ProxyConfig {
  readonly url: URL;
  /** `scheme://user:***@host:port`: safe for logs, events and errors. */
  readonly redacted: string;
}

/** Validates one entry of `proxyUrls`; `field` names it in the error (e.g. `proxyUrls[2]`). */
export function parseProxyUrl(value: unknown, field: string): ProxyConfig {
  if (typeof value !== 'string' && !(value instanceof URL)) {
    throw new InvalidOptionError(field, 'expected a proxy URL string');
  }
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw new InvalidOptionError(field, `not a valid URL: ${redactUrl(String(value))}`);
  }
  if (!PROXY_PROTOCOLS.has(url.protocol)) {
    throw new InvalidOptionError(
      field,
      `unsupported proxy scheme "${url.protocol.slice(0, -1)}" (use http, https or socks5): ${redactUrl(url)}`,
    );
  }
  if (!url.hostname) throw new InvalidOptionError(field, `no host in ${redactUrl(url)}`);
  return Object.freeze({ url, redacted: redactUrl(url) });
}

/** Removes every known secret from a message (proxy passwords, raw and URL-encoded). */
export function scrubSecrets(message: string, proxies: readonly ProxyConfig[]): string {
  let out = message;
  for (const proxy of proxies) {
    out = out.split(proxy.url.href).join(proxy.redacted);
    for (const secret of [proxy.url.password, proxy.url.username]) {
      if (secret.length < 3) continue;
      out = out.split(secret).join('***');
      const decoded = safeDecode(secret);
      if (decoded !== secret && decoded.length >= 3) out = out.split(decoded).join('***');
    }
  }
  return out;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * The connection owner of one session: an `Agent`, or a `ProxyAgent` bound to the session's proxy. Never shared,
 * so neither connections nor the proxy's view of a client leak between sessions.
 */
export function createSessionAgent(
  proxy: ProxyConfig | undefined,
  options: Agent.Options,
): Agent | ProxyAgent {
  if (!proxy) return new Agent(options);
  return new ProxyAgent({ ...options, uri: proxy.url.href });
}
