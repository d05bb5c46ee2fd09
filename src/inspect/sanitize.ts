/**
 * Shrinks and redacts what the inspector sends. Without it every snapshot message carries the whole context (the
 * pool's per-shard maps, a shard's list of 256 session ids, each session's userData) and every spawn event the
 * full session inputs, so a pool of 10,000 sessions floods the socket; and proxy URLs or tokens in userData would
 * be shown in a browser tab.
 *
 * Every function here is idempotent (sanitizing a sanitized value changes nothing): `@statelyai/inspect` applies
 * its `serialize` hook a second time to events it buffered before the socket opened.
 */

/** Bounds applied to contexts, events and snapshot fields sent to the inspector. */
export interface SanitizeLimits {
  /** Nesting levels kept; deeper values become `'[Object]'`/`'[Array]'`. Default 4. */
  maxDepth?: number;
  /** Items kept per array (the last slot says how many were left out). Default 20. */
  maxArrayItems?: number;
  /** Keys kept per object (the last key says how many were left out). Default 30. */
  maxObjectKeys?: number;
  /** Characters kept per string. Default 256. */
  maxStringLength?: number;
}

type Limits = Required<SanitizeLimits>;

export const DEFAULT_SANITIZE_LIMITS: Readonly<Limits> = Object.freeze({
  maxDepth: 4,
  maxArrayItems: 20,
  maxObjectKeys: 30,
  maxStringLength: 256,
});

export const REDACTED = '[redacted]';

/** Key under which a truncated object records how many keys were left out. */
export const MORE_KEYS = '…';

/** Keys whose values are secrets whatever they hold. */
const SECRET_KEY =
  /password|passwd|^pass$|secret|token|api[-_]?key|authorization|^cookies?$|^set-cookie$|cookiejar|credential/i;

/** `scheme://user:password@host` — the credentials part, as in proxy URLs. */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]+@/gi;

/** Hides credentials embedded in URLs (`http://user:pass@proxy:8000` → `http://***@proxy:8000`). */
export function redactCredentials(text: string): string {
  return text.replace(URL_CREDENTIALS, '$1***@');
}

function truncate(text: string, limits: Limits): string {
  const redacted = redactCredentials(text);
  if (redacted.length <= limits.maxStringLength) return redacted;
  return `${redacted.slice(0, Math.max(0, limits.maxStringLength - 1))}…`;
}

function resolveLimits(limits: SanitizeLimits | undefined): Limits {
  return { ...DEFAULT_SANITIZE_LIMITS, ...limits };
}

function walk(value: unknown, limits: Limits, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return truncate(value, limits);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'function') return `[Function ${value.name || 'anonymous'}]`;
  if (typeof value === 'symbol') return value.toString();
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
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
    const result: Record<string, unknown> = {};
    for (const [key, item] of kept) {
      result[key] =
        SECRET_KEY.test(key) && item !== null && item !== undefined
          ? REDACTED
          : walk(item, limits, depth + 1, seen);
    }
    const leftOut = own.length - kept.length + previouslyLeftOut;
    if (leftOut > 0) result[MORE_KEYS] = leftOut;
    return result;
  } finally {
    seen.delete(value);
  }
}

/**
 * A JSON-safe copy of `value` within the limits: long arrays and objects cut (saying how much was left out), long
 * strings shortened, secrets (by key name, or credentials in URLs) redacted, cycles broken.
 */
export function sanitizeValue(value: unknown, limits?: SanitizeLimits): unknown {
  return walk(value, resolveLimits(limits), 0, new WeakSet());
}

type Context = Record<string, unknown>;
type EventObject = { type: string; [key: string]: unknown };

/** The three hooks `createWebSocketInspector` takes, built from one set of limits. */
export interface InspectorSanitizers {
  sanitizeContext: (context: Context) => Context;
  sanitizeEvent: (event: EventObject) => EventObject;
  /** Bounds the snapshot fields the other hooks do not reach: `children`, `output` and `error`. */
  serialize: <T>(inspectionEvent: T) => T;
}

export function createSanitizers(limits?: SanitizeLimits): InspectorSanitizers {
  const resolved = resolveLimits(limits);
  const clean = (value: unknown) => walk(value, resolved, 0, new WeakSet());
  return {
    sanitizeContext: (context) => clean(context) as Context,
    sanitizeEvent: (event) => {
      const cleaned = clean(event) as EventObject;
      // The type is what the inspector lists events by: never shorten it.
      return { ...cleaned, type: event.type };
    },
    serialize: (inspectionEvent) => {
      const snapshot = (inspectionEvent as { snapshot?: unknown }).snapshot;
      if (!snapshot || typeof snapshot !== 'object') return inspectionEvent;
      const fields = snapshot as Record<string, unknown>;
      const bounded: Record<string, unknown> = { ...fields };
      // Copying the snapshot drops machine internals (`machine`, `_nodes`) the inspector does not read.
      delete bounded.machine;
      delete bounded._nodes;
      delete bounded.toJSON;
      if ('children' in fields) bounded.children = clean(fields.children);
      if (fields.output !== undefined) bounded.output = clean(fields.output);
      if (fields.error !== undefined) bounded.error = clean(fields.error);
      if (fields.tags instanceof Set) bounded.tags = [...fields.tags];
      return { ...inspectionEvent, snapshot: bounded };
    },
  };
}
