/**
 * What each entry point loads, measured in a fresh process (every ESM resolution and every `require` recorded by
 * scripts/packaging/record-loads.mjs): the root loads only the four core dependencies, each subpath only its own
 * peer. The same check runs on the packed tarball in scripts/packaging/tarball-test.mjs.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs helper shared with the tarball test, without declarations
import { loadedPackages } from '../../scripts/packaging/loaded-packages.mjs';
import { SessionSupervisorError } from '../../src/errors.js';
import { assertPeer, loadPeer, MissingPeerDependencyError } from '../../src/peer.js';

const root = resolve(import.meta.dirname, '../..');
const CORE = ['eventemitter3', 'tough-cookie', 'undici', 'xstate'];
const PEERS = ['@statelyai/inspect', 'crawlee', 'ioredis', 'playwright-core', 'ws'];
const dir = mkdtempSync(join(tmpdir(), 'entry-points-'));
let runs = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Loads {
  loaded: string[];
  importedByOwn: string[];
}

/**
 * Imports `entries` (source files) one after the other in one fresh Node process and reports, for each, the
 * packages its import newly loaded and the packages our files imported while it loaded.
 */
function loadsOf(entries: readonly string[]): Loads[] {
  const log = join(dir, `loads-${runs++}.jsonl`);
  const script = entries
    .map((entry) => {
      const marker = JSON.stringify(JSON.stringify({ phase: entry }));
      return `appendFileSync(${JSON.stringify(log)}, ${marker} + '\\n'); await import(${JSON.stringify(pathToFileURL(join(root, entry)).href)});`;
    })
    .join('\n');
  const child = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--import',
      pathToFileURL(join(root, 'scripts/packaging/record-loads.mjs')).href,
      '--input-type=module',
      '-e',
      `import { appendFileSync } from 'node:fs';\n${script}`,
    ],
    { cwd: root, env: { ...process.env, RECORD_LOADS_FILE: log }, encoding: 'utf8' },
  );
  expect(child.stderr).toBe('');
  expect(child.status).toBe(0);
  // One log per entry: what was recorded between its marker and the next one.
  const phases: string[][] = [];
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    if (line.startsWith('{"phase"')) phases.push([]);
    else if (line) phases.at(-1)?.push(line);
  }
  expect(phases).toHaveLength(entries.length);
  return phases.map((lines, index) => {
    const part = join(dir, `loads-${runs}-${index}.jsonl`);
    writeFileSync(part, `${lines.join('\n')}\n`);
    const { loaded, importedByOwn } = loadedPackages(part, root) as Loads;
    // Only what our own files import counts (tsx, the test's loader, brings its own packages).
    return { loaded, importedByOwn: importedByOwn.filter((name) => name !== 'tsx') };
  });
}

/**
 * The subpaths, in one process to save start-ups; those without peers first, so each phase is checked against
 * every peer not loaded yet, while the packages our files import are exact for every phase.
 */
const SUBPATHS: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['src/dashboard/index.ts', []],
  ['src/testing/index.ts', []],
  // Types only from playwright-core: it works on the browser objects a caller passes.
  ['src/playwright/index.ts', []],
  ['src/crawlee/index.ts', ['crawlee']],
  ['src/inspect/index.ts', ['@statelyai/inspect']],
  ['src/redis/index.ts', ['ioredis']],
];
let subpathLoads: Loads[] | undefined;

describe('what each entry point loads (fresh process)', () => {
  it('the root loads only xstate, tough-cookie, undici and eventemitter3, and no peer', () => {
    const [{ loaded, importedByOwn }] = loadsOf(['src/index.ts']) as [Loads];
    expect(
      importedByOwn.every((name) => CORE.includes(name)),
      importedByOwn.join(', '),
    ).toBe(true);
    expect(importedByOwn).toEqual(
      expect.arrayContaining(['xstate', 'undici', 'tough-cookie', 'eventemitter3']),
    );
    for (const peer of PEERS) expect(loaded).not.toContain(peer);
  });

  it.each(SUBPATHS.map(([entry, peers], index) => [entry, peers, index] as const))(
    '%s loads the core and %j, no other peer',
    (entry, peers, index) => {
      subpathLoads ??= loadsOf(SUBPATHS.map(([path]) => path));
      const { loaded, importedByOwn } = subpathLoads[index]!;
      expect(entry).toBe(SUBPATHS[index]![0]);
      expect(importedByOwn.filter((name) => !CORE.includes(name))).toEqual(peers);
      for (const peer of PEERS.filter((name) => !peers.includes(name) && name !== 'ws')) {
        expect(loaded).not.toContain(peer);
      }
    },
  );
});

describe('optional peers', () => {
  it('a missing peer is a MissingPeerDependencyError naming the package to install', () => {
    let caught: unknown;
    try {
      loadPeer('no-such-peer-for-session-supervisor', 'session-supervisor/example');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MissingPeerDependencyError);
    expect(caught).toBeInstanceOf(SessionSupervisorError);
    expect(caught).toMatchObject({
      code: 'ERR_MISSING_PEER_DEPENDENCY',
      packageName: 'no-such-peer-for-session-supervisor',
      entryPoint: 'session-supervisor/example',
    });
    expect((caught as Error).message).toContain('npm install no-such-peer-for-session-supervisor');
    expect(() => assertPeer('no-such-peer-for-session-supervisor', 'session-supervisor/example')).toThrow(
      MissingPeerDependencyError,
    );
  });

  it('an installed peer loads, ESM-only ones included', () => {
    expect(typeof loadPeer<{ Redis: unknown }>('ioredis', 'session-supervisor/redis').Redis).toBe('function');
    const inspect = loadPeer<{ createWebSocketInspector: unknown }>('@statelyai/inspect', 'x');
    expect(typeof inspect.createWebSocketInspector).toBe('function');
    expect(() => assertPeer('ws', 'session-supervisor/inspect')).not.toThrow();
  });
});
