/**
 * `ioredis`, the optional peer behind `session-supervisor/redis`, loaded so that a missing install is reported as
 * `MissingPeerDependencyError` naming the package instead of a module-linking failure.
 */
import type * as IORedis from 'ioredis';
import { loadPeer } from '../peer.js';

export const { Redis, Cluster } = loadPeer<typeof IORedis>('ioredis', 'session-supervisor/redis');
export type Redis = IORedis.Redis;
export type Cluster = IORedis.Cluster;
