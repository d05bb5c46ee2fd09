/**
 * The optional peers behind `session-supervisor/inspect`: `@statelyai/inspect` (the inspector client) and `ws`
 * (the local relay). Both are checked when the entry point loads, so a missing one is reported as
 * `MissingPeerDependencyError` naming it, rather than when the relay starts.
 */
import type * as StatelyInspect from '@statelyai/inspect';
import { assertPeer, loadPeer } from '../peer.js';

const ENTRY = 'session-supervisor/inspect';

export const { createInspector, createWebSocketInspector } = loadPeer<typeof StatelyInspect>(
  '@statelyai/inspect',
  ENTRY,
);
assertPeer('ws', ENTRY);
