/**
 * What each entry point loads, measured in a fresh process (every ESM resolution and every `require` recorded by
 * scripts/packaging/record-loads.mjs): the root loads only the four core dependencies, each subpath only its own
 * peer. The same check runs on the packed tarball in scripts/packaging/tarball-test.mjs.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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

/** Imports `entry` (a source file) in a fresh Node process and reports the packages it loaded. */
function loadsOf(entry: string): { loaded: string[]; importedByOwn: string[] } {
  const log = join(dir, `loads-${runs++}.jsonl`);
  const child = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--import',
      pathToFileURL(join(root, 'scripts/packaging/record-loads.mjs')).href,
      '--input-type=module',
      '-e',
      `await import(${JSON.stringify(pathToFileURL(join(root, entry)).href)});`,
    ],
    { cwd: root, env: { ...process.env, RECORD_LOADS_FILE: log }, encoding: 'utf8' },
  );
  expect(child.stderr).toBe('');
  expect(child.status).toBe(0);
  const { loaded, importedByOwn } = loadedPackages(log, root) as {
    loaded: string[];
    importedByOwn: string[];
  };
  // Only what our own files import counts (tsx, the test's loader, brings its own packages).
  return { loaded, importedByOwn: importedByOwn.filter((name) => !['tsx'].includes(name)) };
}

describe('what each entry point loads (fresh process)', () => {
  it('the root loads only xstate, tough-cookie, undici and eventemitter3, and no peer', () => {
    const { loaded, importedByOwn } = loadsOf('src/index.ts');
    expect(
      importedByOwn.every((name) => CORE.includes(name)),
      importedByOwn.join(', '),
    ).toBe(true);
    expect(importedByOwn).toEqual(
      expect.arrayContaining(['xstate', 'undici', 'tough-cookie', 'eventemitter3']),
    );
    for (const peer of PEERS) expect(loaded).not.toContain(peer);
  });

  it.each([
    ['src/dashboard/index.ts', []],
    ['src/testing/index.ts', []],
    ['src/redis/index.ts', ['ioredis']],
    ['src/inspect/index.ts', ['@statelyai/inspect']],
    ['src/crawlee/index.ts', ['crawlee']],
    // Types only from playwright-core: it works on the browser objects a caller passes.
    ['src/playwright/index.ts', []],
  ])('%s loads the core and %j, no other peer', (entry, peers) => {
    const { loaded, importedByOwn } = loadsOf(entry);
    expect(importedByOwn.filter((name) => !CORE.includes(name))).toEqual(peers);
    for (const peer of PEERS.filter((name) => !peers.includes(name) && name !== 'ws')) {
      expect(loaded).not.toContain(peer);
    }
  });
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
