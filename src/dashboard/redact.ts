/**
 * What the dashboard shows about a session goes through the library's one redactor: cookie values, credentials
 * in URLs (proxy URLs) and any field whose name says it holds a secret are hidden. The dashboard is for watching
 * a crawl, not for lifting sessions.
 */
import { REDACTED, redactValue } from '../redact.js';

export { REDACTED };

/** A deep, JSON-safe copy of `value` with secrets replaced by `[redacted]`. */
export function redact(value: unknown): unknown {
  return redactValue(value);
}
