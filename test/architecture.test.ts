/**
 * The layers point one way: the transport (`src/http/`) knows nothing of acquisition, the pool's HTTP side or the
 * pool facade; the pool knows nothing of the CLI or the dashboard; and no module imports itself back through a
 * cycle, type imports included.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

/** Relative imports (value and type) of a module, as repo-relative paths of .ts files. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'/g)].map(
    (m) => m[1] as string,
  );
  return specifiers.map((specifier) =>
    relative(root, resolve(dirname(file), specifier.replace(/\.js$/, '.ts'))),
  );
}

const files = [...sourceFiles(join(root, 'src')), ...sourceFiles(join(root, 'machines'))].map((file) =>
  relative(root, file),
);
const graph = new Map(files.map((file) => [file, importsOf(join(root, file))]));

describe('architecture', () => {
  it('has no import cycle, type imports included', () => {
    // The graph is read from the sources, type imports and re-exports included.
    expect(graph.get('src/session-pool.ts')).toContain('src/acquisition/acquirer.ts');
    expect(graph.get('src/pool-http/fetch.ts')).toContain('src/acquisition/lease.ts');
    const cycles: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const stack: string[] = [];
    const visit = (file: string) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'visiting') {
        cycles.push([...stack.slice(stack.indexOf(file)), file].join(' → '));
        return;
      }
      state.set(file, 'visiting');
      stack.push(file);
      for (const next of graph.get(file) ?? []) if (graph.has(next)) visit(next);
      stack.pop();
      state.set(file, 'done');
    };
    for (const file of files) visit(file);
    expect(cycles).toEqual([]);
  });

  it('keeps the transport (src/http/) free of acquisition, the pool’s HTTP side and the facade', () => {
    const offending = [...graph]
      .filter(([file]) => file.startsWith('src/http/'))
      .flatMap(([file, imports]) =>
        imports
          .filter((target) =>
            /^src\/(acquisition|pool-http)\/|^src\/(session-pool|pool-group|supervisor)\.ts$/.test(target),
          )
          .map((target) => `${file} → ${target}`),
      );
    expect(offending).toEqual([]);
  });

  it('keeps the pool free of the CLI, the dashboard and the test site', () => {
    const pool = ['src/session-pool.ts', 'src/session.ts'];
    const reachable = new Set<string>();
    const walk = (file: string) => {
      if (reachable.has(file)) return;
      reachable.add(file);
      for (const next of graph.get(file) ?? []) walk(next);
    };
    for (const file of pool) walk(file);
    expect(
      [...reachable].filter((file) => /^src\/(cli|dashboard|testing|inspect|redis)\//.test(file)),
    ).toEqual([]);
  });
});
