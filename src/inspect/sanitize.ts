/**
 * Shrinks and redacts what the inspector sends. Without it every snapshot message carries the whole context (the
 * pool's per-shard maps, a shard's list of 256 session ids, each session's userData) and every spawn event the
 * full session inputs, so a pool of 10,000 sessions floods the socket; and proxy URLs or tokens in userData would
 * be shown in a browser tab.
 *
 * The redaction itself is `src/redact.ts`, shared with the dashboard, the logger and the HTTP layer; this module
 * adds the inspector's size bounds. Every function here is idempotent (sanitizing a sanitized value changes
 * nothing): `@statelyai/inspect` applies its `serialize` hook a second time to events it buffered before the
 * socket opened.
 */
import { MORE_KEYS, REDACTED, type RedactLimits, redactCredentials, redactValue } from '../redact.js';

/** Bounds applied to contexts, events and snapshot fields sent to the inspector. */
export interface SanitizeLimits extends RedactLimits {
  /**
   * Nesting levels kept; deeper values become `'[Object]'`/`'[Array]'`.
   * @defaultValue 4
   */
  maxDepth?: number;
  /**
   * Items kept per array (the last slot says how many were left out).
   * @defaultValue 20
   */
  maxArrayItems?: number;
  /**
   * Keys kept per object (the key `…` says how many were left out).
   * @defaultValue 30
   */
  maxObjectKeys?: number;
  /**
   * Characters kept per string.
   * @defaultValue 256
   */
  maxStringLength?: number;
}

type Limits = Required<SanitizeLimits>;

export const DEFAULT_SANITIZE_LIMITS: Readonly<Limits> = Object.freeze({
  maxDepth: 4,
  maxArrayItems: 20,
  maxObjectKeys: 30,
  maxStringLength: 256,
});

export { MORE_KEYS, REDACTED, redactCredentials };

function resolveLimits(limits: SanitizeLimits | undefined): Limits {
  return { ...DEFAULT_SANITIZE_LIMITS, ...limits };
}

/**
 * A JSON-safe copy of `value` within the limits: long arrays and objects cut (saying how much was left out), long
 * strings shortened, secrets redacted by the library's one redactor (`redactValue`), cycles broken.
 */
export function sanitizeValue(value: unknown, limits?: SanitizeLimits): unknown {
  return redactValue(value, resolveLimits(limits));
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
  const clean = (value: unknown) => redactValue(value, resolved);
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
