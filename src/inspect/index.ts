/** Watching a pool live in the Stately inspector; everything here is re-exported from the package root. */
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
