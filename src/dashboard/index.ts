/**
 * A live dashboard of a pool's sessions, served on 127.0.0.1: one tile per session, coloured by state, updated
 * over server-sent events; click a tile to see its (redacted) context. No peer dependency.
 *
 * @example
 * ```ts
 * import { SessionPool } from 'session-supervisor';
 * import { startDashboard } from 'session-supervisor/dashboard';
 *
 * const pool = await SessionPool.open({ maxPoolSize: 100 });
 * const dashboard = await startDashboard(pool);
 * console.log(`dashboard at ${dashboard.url}`);
 * // … crawl …
 * await dashboard.close();
 * await pool.teardown();
 * ```
 *
 * @packageDocumentation
 */
export { type Dashboard, type DashboardOptions, startDashboard } from './server.js';
