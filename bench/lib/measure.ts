/** Timing loops: wall clock and CPU time together, with a warm-up that is not counted. */

import type { Sample } from './protocol.js';
import { nowMs } from './stats.js';

export interface Elapsed {
  wallMs: number;
  cpuMs: number;
}

function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** Runs `work` once and reports how long it took on the wall clock and in CPU time. */
export async function timed<T>(work: () => Promise<T> | T): Promise<Elapsed & { result: T }> {
  const wall0 = nowMs();
  const cpu0 = cpuMs();
  const result = await work();
  return { wallMs: nowMs() - wall0, cpuMs: cpuMs() - cpu0, result };
}

/**
 * Calls `op` in batches until `durationMs` of wall time has passed (after `warmupOps` uncounted calls) and
 * returns the rate per second, from wall time and from CPU time.
 */
export async function measureRate(
  op: () => Promise<unknown> | unknown,
  durationMs: number,
  warmupOps: number,
  batch = 100,
): Promise<Sample & { ops: number }> {
  for (let i = 0; i < warmupOps; i += 1) await op();
  let ops = 0;
  const wall0 = nowMs();
  const cpu0 = cpuMs();
  let wall = 0;
  do {
    for (let i = 0; i < batch; i += 1) await op();
    ops += batch;
    wall = nowMs() - wall0;
  } while (wall < durationMs);
  const cpu = cpuMs() - cpu0;
  return { wall: (ops / wall) * 1000, cpu: (ops / Math.max(cpu, 0.001)) * 1000, ops };
}

/** A duration as a sample (milliseconds). */
export function durationSample(elapsed: Elapsed): Sample {
  return { wall: elapsed.wallMs, cpu: elapsed.cpuMs };
}
