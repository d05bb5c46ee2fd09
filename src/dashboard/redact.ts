/**
 * Redaction of what the dashboard shows about a session: cookie values, credentials in URLs (proxy URLs) and
 * any field whose name says it holds a secret. The dashboard is for watching a crawl, not for lifting sessions.
 */

export const REDACTED = '[redacted]';

const SECRET_KEY = /pass(word)?|secret|token|auth|credential|api[-_]?key|^cookie$|^set-cookie$|private/i;
const URL_CREDENTIALS = /^([a-z][a-z0-9+.-]*:\/\/)([^@/\s]+)@/i;
const MAX_DEPTH = 12;

function isCookie(value: Record<string, unknown>): boolean {
  return 'key' in value && 'value' in value && ('domain' in value || 'path' in value);
}

/** A deep copy of `value` with secrets replaced by `[redacted]`. */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.replace(URL_CREDENTIALS, `$1${REDACTED}@`);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return REDACTED;
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  const record = value as Record<string, unknown>;
  const cookie = isCookie(record);
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(record)) {
    if ((cookie && key === 'value') || (SECRET_KEY.test(key) && item !== null && item !== undefined)) {
      copy[key] = REDACTED;
    } else {
      copy[key] = redact(item, depth + 1);
    }
  }
  return copy;
}
