/**
 * The one redactor: every value this library shows outside the process (log lines, the inspector's messages,
 * the dashboard's JSON, error messages and events that carry a proxy URL) goes through these functions, so a
 * secret hidden in one place is hidden in all of them.
 *
 * What counts as a secret: credentials in URLs, the value of any field whose name says it holds a secret
 * (`password`, `token`, `authorization`, `apiKey`, `cookie`, …) and the value of a cookie (a record with `key`,
 * `value` and `domain` or `path`, as tough-cookie serializes it), whose name, domain and expiry stay visible.
 *
 * `redactValue` is idempotent (redacting a redacted value changes nothing): `@statelyai/inspect` applies its
 * `serialize` hook a second time to events it buffered before its socket opened.
 */

/** What a secret value is replaced with. */
export const REDACTED = '[redacted]';

/** Key under which a truncated object records how many keys were left out. */
export const MORE_KEYS = '…';

/** Field names whose values are secrets whatever they hold. */
const SECRET_KEY =
  /passw(or)?d|^pass$|secret|token|api[-_]?key|^auth$|authori[sz]ation|credential|^cookie$|^set-cookie$|private[-_]?key/i;

/** `scheme://userinfo@` in free text, as in proxy URLs inside a message. */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]+@/gi;

/** Whether a field of this name holds a secret (its value is replaced by `[redacted]`). */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/**
 * Hides credentials embedded in URLs anywhere in a text: `http://user:pass@proxy:8000` becomes
 * `http://***@proxy:8000`. In free text the whole user-info goes, since where a user name ends cannot be told.
 */
export function redactCredentials(text: string): string {
  return text.replace(URL_CREDENTIALS, '$1***@');
}

/**
 * One URL, redacted for display: the password (or a lone user name, which is often a token) becomes `***`, so
 * `http://bob:secret@proxy:8000` shows as `http://bob:***@proxy:8000` and proxies stay distinguishable.
 *
 * @example
 * ```ts
 * redactUrl('socks5://bob:hunter2@127.0.0.1:1080'); // 'socks5://bob:***@127.0.0.1:1080'
 * ```
 */
export function redactUrl(url: URL | string): string {
  let parsed: URL;
  try {
    parsed = typeof url === 'string' ? new URL(url) : new URL(url.href);
  } catch {
    return redactCredentials(String(url)).replace(/\/\/[^/@\s]*@/, '//***@');
  }
  if (parsed.password) parsed.password = '***';
  else if (parsed.username) parsed.username = '***';
  return parsed.href;
}

/** Bounds for `redactValue`; each is unbounded unless set. */
export interface RedactLimits {
  /** Nesting levels kept; deeper values become `'[Object]'`/`'[Array]'`. */
  maxDepth?: number;
  /** Items kept per array (the last slot says how many were left out). */
  maxArrayItems?: number;
  /** Keys kept per object (the key `…` says how many were left out). */
  maxObjectKeys?: number;
  /** Characters kept per string. */
  maxStringLength?: number;
}

type Limits = Required<RedactLimits>;

/** Deep enough for any session context; it only stops runaway structures. */
const UNBOUNDED: Readonly<Limits> = Object.freeze({
  maxDepth: 32,
  maxArrayItems: Number.POSITIVE_INFINITY,
  maxObjectKeys: Number.POSITIVE_INFINITY,
  maxStringLength: Number.POSITIVE_INFINITY,
});

function isCookieRecord(value: Record<string, unknown>): boolean {
  return 'key' in value && 'value' in value && ('domain' in value || 'path' in value);
}

function redactString(text: string, limits: Limits): string {
  const redacted = redactCredentials(text);
  if (redacted.length <= limits.maxStringLength) return redacted;
  return `${redacted.slice(0, Math.max(0, limits.maxStringLength - 1))}…`;
}

function walk(value: unknown, limits: Limits, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return redactString(value, limits);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'function') return `[Function ${value.name || 'anonymous'}]`;
  if (typeof value === 'symbol') return value.toString();
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  if (value instanceof URL) return redactUrl(value);
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return {
      type: value.name,
      ...(typeof code === 'string' ? { code } : {}),
      message: redactString(value.message, limits),
    };
  }
  // Actor refs (in `children`, or kept in a context) serialize to `{ xstate$$type, id }`.
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return walk(toJSON.call(value), limits, depth, seen);
  if (seen.has(value)) return '[Circular]';
  if (depth >= limits.maxDepth) return Array.isArray(value) ? '[Array]' : '[Object]';
  seen.add(value);
  try {
    if (Array.isArray(value) || value instanceof Set) {
      const items = [...value];
      const kept = items.length > limits.maxArrayItems ? items.slice(0, limits.maxArrayItems - 1) : items;
      const result = kept.map((item) => walk(item, limits, depth + 1, seen));
      if (kept.length < items.length) result.push(`… ${items.length - kept.length} more`);
      return result;
    }
    const entries =
      value instanceof Map
        ? [...value].map(([key, item]) => [String(key), item] as const)
        : Object.entries(value);
    const own = entries.filter(([key]) => key !== MORE_KEYS);
    const previouslyLeftOut = Number((value as Record<string, unknown>)[MORE_KEYS] ?? 0) || 0;
    const kept = own.length > limits.maxObjectKeys ? own.slice(0, limits.maxObjectKeys - 1) : own;
    const cookie = isCookieRecord(value as Record<string, unknown>);
    const result: Record<string, unknown> = {};
    for (const [key, item] of kept) {
      const secret = (cookie && key === 'value') || (isSecretKey(key) && item !== null && item !== undefined);
      result[key] = secret ? REDACTED : walk(item, limits, depth + 1, seen);
    }
    const leftOut = own.length - kept.length + previouslyLeftOut;
    if (leftOut > 0) result[MORE_KEYS] = leftOut;
    return result;
  } finally {
    seen.delete(value);
  }
}

/**
 * A JSON-safe copy of `value` with every secret replaced (see the module comment), cycles broken, and, within
 * `limits`, long arrays, objects and strings cut (saying how much was left out). Errors become
 * `{ type, code, message }` with the message redacted.
 *
 * @example
 * ```ts
 * redactValue({ proxy: 'http://u:p@h:8000', apiToken: 't0k' });
 * // { proxy: 'http://***@h:8000', apiToken: '[redacted]' }
 * ```
 */
export function redactValue(value: unknown, limits?: RedactLimits): unknown {
  return walk(value, { ...UNBOUNDED, ...limits }, 0, new WeakSet());
}
