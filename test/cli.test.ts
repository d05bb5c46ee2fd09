import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parseArgs, UsageError } from '../src/cli/args.js';
import { type CliIo, main } from '../src/cli/main.js';
import type { DemoSummary } from '../src/cli/summary.js';
import { listenWithFallback } from '../src/testing/listen.js';
import { compiledPath } from './compiled.js';

/**
 * Most cases run `main` in this process, with their own output and Ctrl-C (a child process costs a second of
 * start-up each); the real binary still runs as a child process where only a process can tell: a real SIGINT
 * and its exit code, a real terminal, and that the process ends by itself.
 */
/** The CLI as compiled for child processes (test/compiled.ts). */
const cli = () => compiledPath('src/cli/main.ts');
const stateRoot = mkdtempSync(join(tmpdir(), 'cli-test-'));
let dirs = 0;
const stateDir = () => join(stateRoot, `run-${dirs++}`);
const children: ChildProcess[] = [];
const servers: Server[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});
afterAll(() => rmSync(stateRoot, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI's `main` in this process, its output like a pipe's (no terminal); `onOutput` may act on stdout +
 * stderr as they arrive (`interrupt()` is Ctrl-C). Once it returns, it must have closed everything it opened,
 * as the process it normally is would have to in order to exit.
 */
async function run(
  args: string[],
  onOutput?: (output: string, control: { interrupt(): void }) => void,
): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  const control = {
    interrupt() {
      for (const listener of listeners) listener();
    },
  };
  const io: CliIo = {
    stdout: {
      write(text: string) {
        stdout += text;
        onOutput?.(stdout + stderr, control);
        return true;
      },
    },
    stderr: {
      write(text: string) {
        stderr += text;
        onOutput?.(stdout + stderr, control);
        return true;
      },
    },
    onInterrupt(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    exit(code) {
      throw new Error(`the CLI asked to exit the process with ${code}`);
    },
  };
  const before = openHandles();
  const code = await main(args, io);
  expect(listeners.size, 'the CLI stops listening for Ctrl-C when it returns').toBe(0);
  await expect(closesEverything(before), 'nothing the CLI opened is left open').resolves.toEqual([]);
  return { code, stdout, stderr };
}

/** What keeps this process's event loop alive (servers, sockets, timers), counted by kind. */
function openHandles(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return counts;
}

/**
 * Waits (up to 10 s, what a closing socket may take) until nothing more keeps the event loop alive than
 * `before`; resolves to what is still left over then. Checked between timers of its own, which would count.
 */
async function closesEverything(before: Map<string, number>): Promise<string[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const left = leftOver(before, openHandles());
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function leftOver(before: Map<string, number>, after: Map<string, number>): string[] {
  return [...after]
    .filter(([kind, count]) => count > (before.get(kind) ?? 0))
    .map(([kind, count]) => `${count - (before.get(kind) ?? 0)} × ${kind}`);
}

/** Whether something still accepts connections at `url`. */
function listening(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Runs the CLI as a real child process; `onOutput` may act on stdout + stderr as they arrive (e.g. send SIGINT). */
function spawnCli(args: string[], onOutput?: (output: string, child: ChildProcess) => void): Promise<Run> {
  const child = spawn(process.execPath, [cli(), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => {
    stdout += chunk;
    onOutput?.(stdout + stderr, child);
  });
  child.stderr!.on('data', (chunk) => {
    stderr += chunk;
    onOutput?.(stdout + stderr, child);
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** With --json, stdout is the summary alone. */
function jsonSummary(stdout: string): DemoSummary {
  return JSON.parse(stdout) as DemoSummary;
}

describe('demo crawl', () => {
  it('crawls, prints quiet line-based progress and a summary table, saves the state and exits 0', async () => {
    const dir = stateDir();
    const result = await run([
      'demo',
      '--pages',
      '400',
      '--sessions',
      '15',
      '--seed',
      '5',
      '--state-dir',
      dir,
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const { stdout } = result;
    expect(stdout.includes('\r') || stdout.includes('\u001b[')).toBe(false);
    const progressLines = stdout.split('\n').filter((line) => line.startsWith('pages '));
    expect(progressLines.length).toBeGreaterThan(0);
    expect(progressLines.length).toBeLessThanOrEqual(11);
    expect(progressLines.at(-1)).toMatch(
      /^pages 400\/400 \(100%\) · \d+\/s · sessions fresh \d+ active \d+ degraded \d+ blocked \d+ · retired \d+$/,
    );
    expect(stdout).toContain('Demo crawl summary');
    for (const row of [
      'Pages',
      'Success rate',
      'Sessions created',
      'Sessions retired',
      'Cookies kept',
      'State saved to',
    ]) {
      expect(stdout).toMatch(new RegExp(`\\| ${row} +\\| `));
    }
    expect(stdout).toMatch(/\| Pages +\| 400 of 400 +\|/);
    const saved = JSON.parse(readFileSync(join(dir, 'demo-pool.json'), 'utf8'));
    expect(saved.sessions.length).toBeGreaterThan(0);
    expect(saved.sessions.length).toBeLessThanOrEqual(15);
  });

  it('reports what the pool did: sessions retired by reason, cookies kept through redirects', async () => {
    const result = await run([
      'demo',
      '--pages',
      '600',
      '--sessions',
      '10',
      '--json',
      '--state-dir',
      stateDir(),
    ]);
    expect(result.code).toBe(0);
    const summary = jsonSummary(result.stdout);
    expect(summary.interrupted).toBe(false);
    expect(summary.pages.ok + summary.pages.failed).toBe(600);
    expect(summary.pages.successRate).toBeGreaterThan(0.95);
    // 10 sessions cannot serve 600 pages (maxUsageCount 30, bans): the pool had to retire and replace them.
    expect(summary.sessions.created).toBeGreaterThan(10);
    expect(summary.sessions.restored).toBe(0);
    expect(summary.sessions.created - summary.sessions.retired).toBe(summary.sessions.alive);
    expect(summary.sessions.retiredByReason.maxUsageCount).toBeGreaterThan(0);
    expect(Object.keys(summary.sessions.retiredByReason).length).toBeGreaterThan(1);
    // Sessions keep their cookies: almost every request carries one, and none set on a 302 is lost.
    expect(summary.cookies.requestsWithCookieRate).toBeGreaterThan(0.8);
    expect(summary.cookies.redirectCookiesLost).toBe(0);
    expect(summary.cookies.kept).toBeGreaterThanOrEqual(summary.sessions.alive);
    expect(summary.site.byStatus['429']).toBeGreaterThan(0);
    // The pool's own counters agree with the crawl: one good use per page served, nothing left reserved.
    expect(summary.stats['use/check-passed']).toBe(summary.pages.ok);
    expect(summary.stats.uses.good).toBe(summary.pages.ok);
    expect(summary.stats.uses.reserved).toBe(0);
  });

  it('restores the sessions saved by the previous run (cookies still valid), and --fresh starts empty', async () => {
    const dir = stateDir();
    const first = jsonSummary(
      (await run(['demo', '--pages', '100', '--sessions', '8', '--json', '--state-dir', dir])).stdout,
    );
    expect(first.sessions.alive).toBeGreaterThan(0);
    const second = await run(['demo', '--pages', '100', '--sessions', '8', '--json', '--state-dir', dir]);
    expect(second.code).toBe(0);
    const resumed = jsonSummary(second.stdout);
    expect(resumed.sessions.restored).toBe(first.sessions.alive);
    expect(second.stderr).toContain(`(${first.sessions.alive} restored from ${join(dir, 'demo-pool.json')})`);
    // The saved sessions kept their site cookies, and the restarted site (same seed) accepted them.
    const saved = JSON.parse(readFileSync(join(dir, 'demo-pool.json'), 'utf8'));
    expect(
      saved.sessions.some((s: { cookieJar: { cookies: { key: string }[] } | null }) =>
        s.cookieJar?.cookies.some((c) => c.key === 'sid'),
      ),
    ).toBe(true);
    expect(resumed.site.invalidCookies).toBe(0);
    const fresh = jsonSummary(
      (await run(['demo', '--pages', '20', '--json', '--fresh', '--state-dir', dir])).stdout,
    );
    expect(fresh.sessions.restored).toBe(0);
  });

  it('serves the dashboard on another port when the one asked for is busy', async () => {
    const busy = createServer();
    servers.push(busy);
    const { port } = await listenWithFallback(busy, '127.0.0.1', 0);
    const result = await run([
      'demo',
      '--pages',
      '50',
      '--dashboard',
      '--dashboard-port',
      String(port),
      '--state-dir',
      stateDir(),
    ]);
    expect(result.code).toBe(0);
    const url = /Dashboard: http:\/\/127\.0\.0\.1:(\d+)\/ \(port (\d+) was busy\)/.exec(result.stdout);
    expect(url?.[2]).toBe(String(port));
    expect(url?.[1]).not.toBe(String(port));
    expect(await listening(`http://127.0.0.1:${url?.[1]}/`), 'the dashboard closed with the CLI').toBe(false);
  });
});

describe('the real binary (child process)', () => {
  it('stops cleanly on Ctrl-C: exit 130, state saved, a summary marked interrupted', async () => {
    const dir = stateDir();
    let sent = false;
    const result = await spawnCli(
      ['demo', '--pages', '200000', '--delay', '5', '--state-dir', dir, '--json'],
      (output, child) => {
        if (!sent && output.includes('Crawling')) {
          sent = true;
          setTimeout(() => child.kill('SIGINT'), 1_500);
        }
      },
    );
    expect(result.code).toBe(130);
    const summary = jsonSummary(result.stdout);
    expect(summary.interrupted).toBe(true);
    expect(summary.pages.ok).toBeGreaterThan(0);
    expect(summary.pages.ok).toBeLessThan(200_000);
    expect(summary.stateFile).toBe(join(dir, 'demo-pool.json'));
    const saved = JSON.parse(readFileSync(join(dir, 'demo-pool.json'), 'utf8'));
    expect(saved.sessions.length).toBeGreaterThan(0);
    expect(result.stderr).toContain('stopping');
  });

  it.skipIf(!existsSync('/usr/bin/script'))('redraws one progress line in place on a terminal', async () => {
    const dir = stateDir();
    const command = `${process.execPath} ${cli()} demo --pages 300 --delay 2 --state-dir ${dir}`;
    const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let output = '';
    child.stdout!.on('data', (chunk) => {
      output += chunk;
    });
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(output).toContain('\r\x1b[2Kpages ');
    expect(output).toContain('Demo crawl summary');
  });
});

describe('demo options', () => {
  it('--dashboard --hold keeps the dashboard up after the crawl until Ctrl-C, then exits 0', async () => {
    let sent = false;
    let heldOpen: boolean | undefined;
    const result = await run(
      ['demo', '--pages', '40', '--dashboard', '--hold', '--state-dir', stateDir()],
      (output, control) => {
        if (!sent && output.includes('the dashboard stays at')) {
          sent = true;
          // Still serving after the crawl, until Ctrl-C.
          const held = /the dashboard stays at (\S+) until/.exec(output)![1]!;
          void listening(held).then((up) => {
            heldOpen = up;
            control.interrupt();
          });
        }
      },
    );
    expect(heldOpen).toBe(true);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Demo crawl summary');
    const url = /Dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(result.stdout)?.[1];
    expect(url).toBeDefined();
    expect(await listening(url!), 'the dashboard closed after Ctrl-C').toBe(false);
  });

  it('--inspect connects the pool to a local inspector relay and prints its URL', async () => {
    const result = await run(['demo', '--pages', '40', '--inspect', '--state-dir', stateDir()]);
    expect(result.code).toBe(0);
    const url = /Inspector: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(result.stdout)?.[1];
    expect(url).toBeDefined();
    expect(result.stdout).toMatch(/\| Pages +\| 40 of 40 +\|/);
    expect(await listening(url!), 'the inspector relay closed with the CLI').toBe(false);
  });
});

describe('command line', () => {
  it.each([
    [['demo', '--bogus'], 'unknown option "--bogus"'],
    [['demo', '--pages', '0'], '--pages must be between 1 and 1000000'],
    [['demo', '--pages', 'ten'], '--pages expects a whole number'],
    [['demo', '--sessions'], '--sessions needs a value'],
    [['crawl'], 'unknown command "crawl"'],
  ])('%j: usage message and exit code 2', async (args, message) => {
    const result = await run(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr).toContain('Usage: session-supervisor');
    expect(result.stdout).toBe('');
  });

  it('prints help and the version with exit code 0', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--dashboard');
    const version = await run(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync('package.json', 'utf8')).version);
  });
});

describe('parseArgs', () => {
  it('reads every flag, in both --flag value and --flag=value forms', () => {
    expect(
      parseArgs([
        'demo',
        '--pages=10',
        '--sessions',
        '3',
        '--seed',
        '0',
        '--concurrency',
        '2',
        '--delay=5',
        '--dashboard',
        '--dashboard-port',
        '8080',
        '--hold',
        '--inspect',
        '--state-dir',
        '/tmp/x',
        '--fresh',
        '--json',
      ]),
    ).toEqual({
      name: 'demo',
      args: {
        pages: 10,
        sessions: 3,
        seed: 0,
        concurrency: 2,
        delayMs: 5,
        dashboard: true,
        dashboardPort: 8080,
        hold: true,
        inspect: true,
        stateDir: '/tmp/x',
        fresh: true,
        json: true,
      },
    });
  });

  it.each([
    [['demo', '--pages', '5', '--pages', '6'], '--pages given twice'],
    [['demo', '--hold'], '--hold needs --dashboard'],
    [['demo', '--dashboard-port', '80'], '--dashboard-port needs --dashboard'],
    [['demo', '--json=yes'], '--json takes no value'],
    [['demo', '--seed', '-1'], '--seed expects a whole number'],
    [['demo', '--delay', '1.5'], '--delay expects a whole number'],
    [['demo', 'extra'], 'unexpected argument "extra"'],
    [['demo', '--state-dir', '--fresh'], '--state-dir needs a path'],
  ])('%j is a UsageError', (args, message) => {
    expect(() => parseArgs(args)).toThrow(UsageError);
    expect(() => parseArgs(args)).toThrow(message);
  });
});
