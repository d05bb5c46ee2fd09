/** Worker child processes and a plain Redis client for the fleet tests. */
import { type ChildProcess, spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { compiledPath } from '../compiled.js';

/** Waits (bounded) until `check` holds, polling. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function plainClient(url: string): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  return client;
}

export interface FleetWorkerLine {
  t: string;
  id?: string;
  reason?: string;
  message?: string;
  made?: number;
  failed?: number;
  sessions?: number;
  leases?: number;
  stats?: Record<string, unknown>;
}

export interface FleetWorker {
  child: ChildProcess;
  lines: FleetWorkerLine[];
  stderr: string;
  exit: Promise<number | null>;
  count(type: string): number;
}

/** A worker process running a `SessionPool` with `fleet: redisFleet(…)` (test/redis/fixtures/fleet-worker.ts). */
export function spawnFleetWorker(
  config: Record<string, unknown>,
  onLine?: (line: FleetWorkerLine) => void,
): FleetWorker {
  const child = spawn(process.execPath, [compiledPath('test/redis/fixtures/fleet-worker.ts')], {
    env: { ...process.env, WORKER_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const worker: FleetWorker = {
    child,
    lines: [],
    stderr: '',
    exit: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
    count: (type) => worker.lines.filter((line) => line.t === type).length,
  };
  let buffer = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    for (let newline = buffer.indexOf('\n'); newline !== -1; newline = buffer.indexOf('\n')) {
      const text = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (!text.startsWith('{')) continue;
      const line = JSON.parse(text) as FleetWorkerLine;
      worker.lines.push(line);
      onLine?.(line);
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    worker.stderr += chunk.toString();
  });
  return worker;
}

/** A session's state in Redis: uses counted, leases in flight, uses they reserve, error score, retirement. */
export interface FleetStateOfSession {
  u: number;
  f: number;
  q: number;
  e: number;
  r: string;
  mu: number;
}

/** Every session state of a fleet pool (`{<name>}:st`), parsed. */
export async function fleetStates(client: Redis, tag: string): Promise<Map<string, FleetStateOfSession>> {
  const states = new Map<string, FleetStateOfSession>();
  for (const [id, json] of Object.entries(await client.hgetall(`${tag}:st`)))
    states.set(id, JSON.parse(json));
  return states;
}
