/**
 * Watching a pool live in the Stately inspector, with every message bounded and redacted. Needs the optional
 * peer dependencies `@statelyai/inspect` and `ws` (`npm install @statelyai/inspect ws`); without them, importing
 * this entry point throws `MissingPeerDependencyError` naming the missing one.
 *
 * @example
 * ```ts
 * import { SessionPool } from 'session-supervisor';
 * import { startInspector } from 'session-supervisor/inspect';
 *
 * const inspector = await startInspector();
 * const pool = await SessionPool.open({ inspect: inspector.inspect });
 * console.log(`open ${inspector.url} to watch the pool`);
 * // … crawl …
 * await pool.teardown();
 * await inspector.close();
 * ```
 *
 * @packageDocumentation
 */
// First, so that a missing peer is reported before anything else of this entry point loads.
import './peers.js';

export { InspectorStartError } from '../errors.js';
export {
  createSanitizedInspector,
  DEFAULT_MAX_DEFERRED_EVENTS,
  type RunningInspector,
  type SanitizedInspector,
  type SanitizedInspectorOptions,
  type StartInspectorOptions,
  startInspector,
} from './inspector.js';
export { type InspectorServer, type InspectorServerOptions, startInspectorServer } from './relay-server.js';
export {
  createSanitizers,
  DEFAULT_SANITIZE_LIMITS,
  type InspectorSanitizers,
  redactCredentials,
  type SanitizeLimits,
  sanitizeValue,
} from './sanitize.js';
