/**
 * The README's code runs. Every ```ts / ```typescript block of README.md is type-checked against the local
 * sources and then executed, offline, in its own process; a block that is not meant to run alone is marked.
 *
 * Conventions (for whoever adds a README section):
 * - A block that uses names it does not define (`pool`, `session`, `response`…) is a fragment: put
 *   `<!-- fragment -->` on the line right before its opening fence. Fragments are neither checked nor run.
 *   Every other block must be a complete program.
 * - Import from `session-supervisor` or its entry points (`session-supervisor/testing`, `/redis`, `/inspect`,
 *   `/dashboard`…): the test maps each specifier to the local source through package.json's `exports`.
 * - Blocks run offline: a preload refuses every connection that is not to loopback (and the test fails if one was
 *   tried), so crawl the bundled test site (`startTestSite` from `session-supervisor/testing`), not example.com.
 * - Each block runs in a fresh temporary working directory (files it writes stay there) in which `examples/` of
 *   this repository is linked, and must exit by itself within BLOCK_TIMEOUT_MS: close what it opens.
 * - Blocks run on plain Node: the blocks are compiled with the transform tsx uses, and import the library as
 *   compiled once per test run (test/compiled.ts), instead of every block's process loading tsx and transforming
 *   the sources again.
 * - A block that imports `session-supervisor/redis` gets `REDIS_URL` of a redis-server this test starts; without
 *   redis-server such blocks are skipped locally and fail under CI=true (like the other Redis tests).
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compiledRoot, compileModule, tsconfigRaw } from './compiled.js';
import { RedisServer, redisMissing } from './redis/redis-server.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BLOCK_TIMEOUT_MS = 60_000;
/**
 * Block processes running at once. Each spends most of its second or two loading modules, on the CPU, while
 * another test file runs beside this one: one block per core left for it (so one on two cores) finished the whole
 * suite sooner and with less CPU than two (129 s and 179 s of CPU against 136 s and 203 s, one run each).
 */
const MAX_BLOCK_PROCESSES = Math.max(1, availableParallelism() - 1);
const FRAGMENT_MARKER = '<!-- fragment -->';
const REDIS_IMPORT = /['"]session-supervisor\/redis['"]/;
const OFFLINE_MARKER = 'README-BLOCK-OFFLINE-VIOLATION';
/**
 * Under node_modules, so a block's bare imports (`undici`, `xstate`) resolve as they would in the repo; one
 * directory per run, so two runs at once do not overwrite each other's blocks.
 */
const BLOCK_DIR = join(ROOT, 'node_modules', '.cache', `readme-blocks-${process.pid}`);

interface ReadmeBlock {
  /** 1-based line of the opening fence. */
  line: number;
  code: string;
  fragment: boolean;
}

/** The TypeScript blocks of a Markdown text, each with whether it is marked as a fragment. */
function readmeBlocks(markdown: string): ReadmeBlock[] {
  const lines = markdown.split('\n');
  const blocks: ReadmeBlock[] = [];
  for (let index = 0; index < lines.length; index += 1) {
    const fence = /^(\s*)(`{3,}|~{3,})\s*(ts|typescript)\s*$/.exec(lines[index] as string);
    if (!fence) continue;
    const close = fence[2] as string;
    const body: string[] = [];
    let end = index + 1;
    while (end < lines.length && !(lines[end] as string).trim().startsWith(close))
      body.push(lines[end++] as string);
    let before = index - 1;
    while (before >= 0 && (lines[before] as string).trim() === '') before -= 1;
    blocks.push({
      line: index + 1,
      code: body.join('\n'),
      fragment: before >= 0 && (lines[before] as string).trim() === FRAGMENT_MARKER,
    });
    index = end;
  }
  return blocks;
}

interface Manifest {
  name: string;
  version: string;
  exports: Record<string, string | Record<string, string>>;
}

/**
 * `session-supervisor[/entry]` → the file behind that entry of package.json's `exports`, under `root`: the
 * repository for the type check (TypeScript finds the `.ts` behind the `.js`), the compiled repository (test/compiled.ts) for the runs.
 */
function entryPoints(manifest: Manifest, root: string): Map<string, string> {
  const entries = new Map<string, string>();
  for (const [subpath, target] of Object.entries(manifest.exports)) {
    const file = typeof target === 'string' ? target : (target.import ?? target.default);
    if (!file?.endsWith('.js')) continue;
    const specifier = subpath === '.' ? manifest.name : `${manifest.name}/${subpath.slice(2)}`;
    entries.set(specifier, join(root, file.replace(/^\.\/dist\//, '')));
  }
  return entries;
}

function rewriteImports(code: string, file: string, entries: Map<string, string>): string {
  return code.replace(
    /(from\s+|import\s*\(\s*|import\s+)(['"])(session-supervisor(?:\/[\w-]+)?)\2/g,
    (match, lead, quote, specifier) => {
      const target = entries.get(specifier);
      if (!target) return match; // an entry that does not exist: the type check reports it
      let path = relative(dirname(file), target).split('\\').join('/');
      if (!path.startsWith('.')) path = `./${path}`;
      return `${lead}${quote}${path}${quote}`;
    },
  );
}

/** Loaded before a block: any connection that is not to loopback fails, and is reported on stderr. */
const OFFLINE_PRELOAD = `
import net from 'node:net';
const connect = net.Socket.prototype.connect;
const loopback = (host) => host === 'localhost' || host === '::1' || host === '::ffff:127.0.0.1' || /^127\\./.test(host);
net.Socket.prototype.connect = function (...args) {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  const options = typeof first === 'object' && first !== null ? first : { port: first, host: typeof args[1] === 'string' ? args[1] : undefined };
  if (options.path === undefined) {
    const host = String(options.host ?? 'localhost').replace(/^\\[|\\]$/g, '');
    if (!loopback(host)) {
      process.stderr.write('${OFFLINE_MARKER} ' + host + '\\n');
      const error = Object.assign(new Error('README blocks run offline: no connection to ' + host), { code: 'ECONNREFUSED' });
      process.nextTick(() => this.destroy(error));
      return this;
    }
  }
  return connect.apply(this, args);
};
`;

interface PreparedBlock extends ReadmeBlock {
  /** The block as TypeScript, importing the sources: what the type check reads. */
  file: string;
  /** The block compiled, importing the compiled sources: what runs. */
  runFile: string;
  needsRedis: boolean;
}

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `task` once fewer than `limit` others run. */
function limiter(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const queue: (() => void)[] = [];
  return async (task) => {
    if (running >= limit) await new Promise<void>((resolve) => queue.push(resolve));
    running += 1;
    try {
      return await task();
    } finally {
      running -= 1;
      queue.shift()?.();
    }
  };
}

const blockSlot = limiter(MAX_BLOCK_PROCESSES);

/** Runs a block in its own process, once a slot is free; BLOCK_TIMEOUT_MS counts from its start. */
function runBlock(block: PreparedBlock, env: NodeJS.ProcessEnv): Promise<RunResult> {
  return blockSlot(() => runBlockNow(block, env));
}

async function runBlockNow(block: PreparedBlock, env: NodeJS.ProcessEnv): Promise<RunResult> {
  const cwd = await mkdtemp(join(tmpdir(), 'session-supervisor-readme-'));
  try {
    await symlink(join(ROOT, 'examples'), join(cwd, 'examples'), 'dir');
    const child = spawn(
      process.execPath,
      ['--import', pathToFileURL(join(BLOCK_DIR, 'offline.mjs')).href, block.runFile],
      { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += String(chunk);
    });
    child.stderr.on('data', (chunk) => {
      stderr += String(chunk);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), BLOCK_TIMEOUT_MS);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.on('exit', (exitCode, exitSignal) => resolve([exitCode, exitSignal])),
    );
    clearTimeout(timer);
    return { code, signal, stdout, stderr };
  } finally {
    await rm(cwd, { recursive: true, force: true });
  }
}

function tsconfig(): { raw: unknown; options: ts.CompilerOptions } {
  const raw = tsconfigRaw();
  return { raw, options: ts.parseJsonConfigFileContent(raw, ts.sys, ROOT).options };
}

function typeErrors(files: string[], options: ts.CompilerOptions): Map<string, string[]> {
  const program = ts.createProgram(files, { ...options, noEmit: true });
  const errors = new Map<string, string[]>();
  // Only the blocks are checked (what getPreEmitDiagnostics reports for them, file by file): errors in the
  // library itself are the type check's business, not this test's, and checking all of it costs seconds.
  for (const file of files) {
    const source = program.getSourceFile(file)!;
    const diagnostics = [
      ...program.getSyntacticDiagnostics(source),
      ...program.getSemanticDiagnostics(source),
      ...(options.declaration || options.composite ? program.getDeclarationDiagnostics(source) : []),
    ];
    for (const diagnostic of diagnostics) {
      const { line } = source.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
      const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
      errors.set(file, [...(errors.get(file) ?? []), `line ${line + 1}: ${text}`]);
    }
  }
  return errors;
}

const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
const blocks = readmeBlocks(readme);
const runnable = blocks.filter((block) => !block.fragment);

describe('readmeBlocks', () => {
  it('finds ts and typescript blocks and the fragment marker on the line before the fence', () => {
    const found = readmeBlocks(
      [
        '# t',
        '```ts',
        'a()',
        '```',
        '<!-- fragment -->',
        '',
        '```typescript',
        'b()',
        '```',
        '```sh',
        'c',
        '```',
      ].join('\n'),
    );
    expect(found).toEqual([
      { line: 2, code: 'a()', fragment: false },
      { line: 7, code: 'b()', fragment: true },
    ]);
  });
});

describe('README.md', () => {
  const prepared: PreparedBlock[] = [];
  let errors = new Map<string, string[]>();
  let redis: RedisServer | undefined;
  let redisSkipped: string | undefined;

  beforeAll(async () => {
    await rm(BLOCK_DIR, { recursive: true, force: true });
    await mkdir(BLOCK_DIR, { recursive: true });
    await writeFile(join(BLOCK_DIR, 'offline.mjs'), OFFLINE_PRELOAD);
    const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as Manifest;
    const sources = entryPoints(manifest, ROOT);
    const compiled = entryPoints(manifest, compiledRoot());
    const config = tsconfig();
    for (const block of runnable) {
      const file = join(BLOCK_DIR, `block-line-${block.line}.mts`);
      const runFile = join(BLOCK_DIR, `block-line-${block.line}.mjs`);
      // `export {}` makes every block a module, so top-level names of two blocks never clash.
      await writeFile(file, `${rewriteImports(block.code, file, sources)}\nexport {};\n`);
      const run = `${rewriteImports(block.code, runFile, compiled)}\nexport {};\n`;
      await writeFile(runFile, await compileModule(run, file, config.raw));
      prepared.push({ ...block, file, runFile, needsRedis: REDIS_IMPORT.test(block.code) });
    }
    errors = typeErrors(
      prepared.map((block) => block.file),
      config.options,
    );
    if (prepared.some((block) => block.needsRedis)) {
      redisSkipped = redisMissing();
      if (!redisSkipped) redis = await RedisServer.start();
    }
  }, 180_000);

  afterAll(async () => {
    await redis?.stop();
    await rm(BLOCK_DIR, { recursive: true, force: true });
  });

  it('has no broken sentences: no empty code span, no sentence ending in a colon with nothing after it', () => {
    expect(readme).not.toMatch(/(^|[^`])``([^`]|$)/m);
    const lines = readme.split('\n');
    lines.forEach((line, index) => {
      if (!line.trim().endsWith(':') || line.startsWith('|') || line.trim().startsWith('```')) return;
      let next = index + 1;
      while (next < lines.length && (lines[next] as string).trim() === '') next += 1;
      expect(
        (lines[next] ?? '').startsWith('#'),
        `README.md line ${index + 1} ends in a colon and is followed by a heading`,
      ).toBe(false);
    });
  });

  it('uses no remote host in runnable blocks', () => {
    for (const block of runnable) {
      expect(block.code, `README.md block at line ${block.line}`).not.toMatch(
        /https?:\/\/(?!127\.0\.0\.1|localhost)[\w.-]+\.(com|org|net|example)\b/,
      );
    }
  });

  // Blocks run in their own processes, the ones without Redis a few at a time (at most MAX_BLOCK_PROCESSES
  // processes: a test may wait for a slot before its block's BLOCK_TIMEOUT_MS starts); the Redis ones share one
  // server and run one after the other.
  const checkAndRun = async (_line: number, block: ReadmeBlock) => {
    const prepared_ = prepared.find((candidate) => candidate.line === block.line)!;
    expect(errors.get(prepared_.file) ?? [], `type errors in the README block at line ${block.line}`).toEqual(
      [],
    );
    if (prepared_.needsRedis && !redis) {
      console.warn(`[skipped] README block at line ${block.line}: ${redisSkipped}`);
      return;
    }
    const result = await runBlock(prepared_, redis ? { REDIS_URL: redis.url } : {});
    const context = `README block at line ${block.line}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
    expect(result.stderr, context).not.toContain(OFFLINE_MARKER);
    expect(result.signal, `${context}\n(killed: it did not exit within ${BLOCK_TIMEOUT_MS} ms)`).toBeNull();
    expect(result.code, context).toBe(0);
  };
  const usesRedis = (block: ReadmeBlock) => REDIS_IMPORT.test(block.code);
  const rows = (blocks: ReadmeBlock[]) => blocks.map((block) => [block.line, block] as const);
  it.concurrent.each(rows(runnable.filter((block) => !usesRedis(block))))(
    'block at line %i type-checks and runs to completion',
    checkAndRun,
    BLOCK_TIMEOUT_MS * 4,
  );
  it.each(rows(runnable.filter(usesRedis)))(
    'block at line %i (Redis) type-checks and runs to completion',
    checkAndRun,
    BLOCK_TIMEOUT_MS * 4,
  );
});
