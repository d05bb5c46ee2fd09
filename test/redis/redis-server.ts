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

  /** The redis-server process id (this test's own child). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Freezes the server (SIGSTOP to its own PID): connections stay open, nothing is answered. */
  pause(): void {
    this.#child?.kill('SIGSTOP');
  }

  /** Lets a paused server run again (SIGCONT). */
  resume(): void {
    this.#child?.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGCONT');
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
    await readyToAcceptConnections(child, 'redis-server');
    child.stdout?.resume();
  }
}

/**
 * A 3-master Redis Cluster of real redis-server processes on 127.0.0.1, created with
 * `redis-cli --cluster create … --cluster-yes`; each node keeps its cluster config in a temporary directory.
 */
export class RedisCluster {
  readonly ports: number[];
  readonly #dir: string;
  readonly #children: ChildProcess[] = [];

  private constructor(ports: number[], dir: string) {
    this.ports = ports;
    this.#dir = dir;
  }

  get nodes(): { host: string; port: number }[] {
    return this.ports.map((port) => ({ host: '127.0.0.1', port }));
  }

  static async start(): Promise<RedisCluster> {
    const dir = await mkdtemp(join(tmpdir(), 'session-supervisor-cluster-'));
    const ports: number[] = [];
    while (ports.length < 3) {
      // The cluster bus listens on port + 10000: both must be free.
      const port = await freePort();
      if (port < 55_000 && !ports.includes(port)) ports.push(port);
    }
    const cluster = new RedisCluster(ports, dir);
    try {
      for (const port of ports) await cluster.#spawn(port);
      execFileSync(
        REDIS_CLI_BIN,
        [
          '--cluster',
          'create',
          ...ports.map((port) => `127.0.0.1:${port}`),
          '--cluster-replicas',
          '0',
          '--cluster-yes',
        ],
        { stdio: 'pipe', timeout: 30_000 },
      );
      const deadline = Date.now() + 20_000;
      for (const port of ports) {
        while (
          !execFileSync(REDIS_CLI_BIN, ['-p', String(port), 'cluster', 'info'])
            .toString()
            .includes('cluster_state:ok')
        ) {
          if (Date.now() > deadline) throw new Error(`cluster node ${port} did not reach cluster_state:ok`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    } catch (error) {
      await cluster.close();
      throw error;
    }
    return cluster;
  }

  /** The port of the master serving `key`'s slot. */
  portOf(key: string): number {
    const slot = Number(
      execFileSync(REDIS_CLI_BIN, ['-p', String(this.ports[0]), 'cluster', 'keyslot', key])
        .toString()
        .trim(),
    );
    const slots = JSON.parse(
      execFileSync(REDIS_CLI_BIN, ['-p', String(this.ports[0]), '--json', 'cluster', 'slots']).toString(),
    ) as [number, number, [string, number]][];
    const owner = slots.find(([from, to]) => slot >= from && slot <= to);
    return owner?.[2][1] ?? -1;
  }

  async close(): Promise<void> {
    await Promise.all(
      this.#children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
    await rm(this.#dir, { recursive: true, force: true });
  }

  async #spawn(port: number): Promise<void> {
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      join(this.#dir, `nodes-${port}.conf`),
      '--cluster-node-timeout',
      '5000',
      '--dir',
      this.#dir,
    ];
    const child = spawn(REDIS_SERVER_BIN as string, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#children.push(child);
    await readyToAcceptConnections(child, 'cluster node');
    child.stdout?.resume();
  }
}

const REDIS_CLI_BIN = process.env.REDIS_CLI_BIN ?? 'redis-cli';

/** Resolves once a starting redis-server says it accepts connections; rejects if it exits or takes over 10 s. */
function readyToAcceptConnections(child: ChildProcess, what: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start: ${output}`)), 10_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}: ${output}`));
    });
  });
}
