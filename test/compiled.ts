/**
 * The repository's TypeScript compiled once per test run to plain ES modules, for the child processes tests start
 * (fleet workers, the CLI, README blocks, persistence fixtures…). Under `--import tsx` each of those processes
 * spent about a second of CPU loading tsx and transforming our sources again; on plain Node it loads the output
 * of the same transform (tsx's own esbuild, the repository's tsconfig), laid out as in the repository.
 *
 * `test/global-setup.ts` compiles; tests and helpers read paths with `compiledPath()`.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where `test/global-setup.ts` put this run's compiled repository. */
    compiledRoot: string;
  }
}

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** What child processes run: the library, its machines, the examples, and the tests' fixtures and helpers. */
const COMPILED_DIRS = ['src', 'machines', 'examples', 'test'];

interface Esbuild {
  transform(code: string, options: Record<string, unknown>): Promise<{ code: string }>;
}
const fromRepo = createRequire(join(REPO_ROOT, 'package.json'));
/**
 * The esbuild tsx runs on (tsx depends on it, so it is there wherever tsx is): the same compiler as `tsx`.
 * Loaded on first use, like TypeScript below: most files importing this module only read `compiledPath`.
 */
let esbuild: Esbuild | undefined;

/** The repository's tsconfig as esbuild reads it (verbatimModuleSyntax and the rest). */
export function tsconfigRaw(): unknown {
  const ts = fromRepo('typescript') as typeof import('typescript');
  return ts.readConfigFile(join(REPO_ROOT, 'tsconfig.json'), ts.sys.readFile).config;
}

/** tsx's transform: ESM for this Node, names kept (error classes report theirs). */
export async function compileModule(code: string, sourcefile: string, tsconfig: unknown): Promise<string> {
  esbuild ??= createRequire(fromRepo.resolve('tsx'))('esbuild') as Esbuild;
  const result = await esbuild.transform(code, {
    loader: 'ts',
    format: 'esm',
    target: `node${process.versions.node}`,
    keepNames: true,
    sourcefile,
    tsconfigRaw: tsconfig,
  });
  return result.code;
}

/**
 * Compiles every `.ts` of COMPILED_DIRS (test files themselves excepted) to `.js` under `root`, with a
 * package.json carrying the repository's name and version (the CLI reads its version from it) and `type: module`.
 * Bare imports resolve from the repository's node_modules, which `root` lies under.
 */
export async function compileRepository(root: string): Promise<void> {
  const tsconfig = tsconfigRaw();
  const jobs: Promise<void>[] = [];
  for (const dir of COMPILED_DIRS) {
    for (const path of await readdir(join(REPO_ROOT, dir), { recursive: true })) {
      if (!path.endsWith('.ts') || path.endsWith('.d.ts') || path.endsWith('.test.ts')) continue;
      if (path.split('/').includes('node_modules')) continue;
      const source = join(REPO_ROOT, dir, path);
      const target = join(root, dir, path.replace(/\.ts$/, '.js'));
      jobs.push(
        (async () => {
          const code = await compileModule(await readFile(source, 'utf8'), source, tsconfig);
          await mkdir(dirname(target), { recursive: true });
          await writeFile(target, code);
        })(),
      );
    }
  }
  await Promise.all(jobs);
  const manifest = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
  };
  await writeFile(
    join(root, 'package.json'),
    JSON.stringify({ name: manifest.name, version: manifest.version, type: 'module' }),
  );
}

/** This run's compiled root (see `test/global-setup.ts`). */
export function compiledRoot(): string {
  return inject('compiledRoot');
}

/** The compiled counterpart of a repository file: `compiledPath('src/cli/main.ts')` → `<root>/src/cli/main.js`. */
export function compiledPath(repoPath: string): string {
  return join(compiledRoot(), repoPath.replace(/\.ts$/, '.js'));
}
