/**
 * Real `redis-server` child processes for the Redis tests: each on 127.0.0.1 and a free port, without
 * persistence unless asked (the restart test asks for an append-only file, fsynced on every write).
 * Without the binary, the suite is skipped locally and fails under CI=true.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function findRedisServer(): string | undefined {
  for (const candidate of [process.env.REDIS_SERVER_BIN, 'redis-server', '/usr/bin/redis-server']) {
    if (!candidate) continue;
    try {
      execFileSync(candidate, ['--version'], { stdio: 'ignore' });
      return candidate;
    } catch {}
  }
  return undefined;
}

export const REDIS_SERVER_BIN = findRedisServer();

/** Why the suite cannot run here, or undefined when it can. Under CI a missing binary is a failure. */
export function redisMissing(): string | undefined {
  if (REDIS_SERVER_BIN) return undefined;
  const message =
    'redis-server not found: install it (apt-get install -y redis-server) or set REDIS_SERVER_BIN to run the Redis tests';
  if (process.env.CI === 'true') throw new Error(message);
  console.warn(`[skipped] ${message}`);
  return message;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface RedisServerOptions {
  /** Keep data across restarts: append-only file, fsynced on every write. */
  persistent?: boolean;
}

export class RedisServer {
  readonly port: number;
  readonly url: string;
  #dir: string | undefined;
  #child: ChildProcess | undefined;

  private constructor(port: number) {
    this.port = port;
    this.url = `redis://127.0.0.1:${port}/0`;
  }

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const server = new RedisServer(await freePort());
    if (options.persistent) server.#dir = await mkdtemp(join(tmpdir(), 'session-supervisor-redis-'));
    await server.#spawn();
    return server;
  }

  /** Stops the server (SIGTERM: Redis finishes its append-only file) and starts it again on the same port. */
  async restart(downtimeMs = 0): Promise<void> {
    await this.stop();
    if (downtimeMs > 0) await new Promise((resolve) => setTimeout(resolve, downtimeMs));
    await this.#spawn();
  }

  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }

  async close(): Promise<void> {
    await this.stop();
    if (this.#dir) await rm(this.#dir, { recursive: true, force: true });
  }

  async #spawn(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--daemonize', 'no'];
    if (this.#dir) args.push('--dir', this.#dir, '--appendonly', 'yes', '--appendfsync', 'always');
    else args.push('--appendonly', 'no');
    const child = spawn(REDIS_SERVER_BIN as string, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    await new Promise<void>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${output}`)), 10_000);
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}: ${output}`));
      });
    });
    child.stdout?.resume();
  }
}
