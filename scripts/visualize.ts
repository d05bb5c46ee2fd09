/**
 * `npm run visualize` — regenerates the state machine diagrams in `visualizations/` (Mermaid and SVG) and the
 * Mermaid blocks between `<!-- visualize:NAME:start -->` / `<!-- visualize:NAME:end -->` markers in README.md.
 *
 * `npm run visualize -- --check` writes nothing and exits 1 with a summary when the committed files differ from
 * what the current machine definitions produce (for CI). `--root <dir>` runs against another checkout.
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate, OUTPUT_DIR } from './lib/generate.js';

export interface Drift {
  missing: string[];
  changed: { path: string; line: number }[];
  unexpected: string[];
}

function firstDifferentLine(a: string, b: string): number {
  const left = a.split('\n');
  const right = b.split('\n');
  const length = Math.max(left.length, right.length);
  for (let index = 0; index < length; index += 1) if (left[index] !== right[index]) return index + 1;
  return length;
}

/** Diagram files in the output directory that no machine produces any more (a machine was removed or renamed). */
async function strayOutputs(root: string, expected: ReadonlyMap<string, string>): Promise<string[]> {
  const names = await readdir(join(root, OUTPUT_DIR)).catch(() => [] as string[]);
  return names
    .filter((name) => name.endsWith('.mmd') || name.endsWith('.svg'))
    .map((name) => `${OUTPUT_DIR}/${name}`)
    .filter((path) => !expected.has(path))
    .sort();
}

export async function findDrift(root: string, expected: ReadonlyMap<string, string>): Promise<Drift> {
  const drift: Drift = { missing: [], changed: [], unexpected: await strayOutputs(root, expected) };
  for (const [path, content] of expected) {
    const current = await readFile(join(root, path), 'utf8').catch(() => undefined);
    if (current === undefined) drift.missing.push(path);
    else if (current !== content) drift.changed.push({ path, line: firstDifferentLine(current, content) });
  }
  return drift;
}

export function describeDrift(drift: Drift): string[] {
  return [
    ...drift.missing.map((path) => `  missing:    ${path}`),
    ...drift.changed.map(({ path, line }) => `  outdated:   ${path} (first difference at line ${line})`),
    ...drift.unexpected.map((path) => `  unexpected: ${path} (no machine produces it)`),
  ];
}

async function main(argv: readonly string[]): Promise<number> {
  const check = argv.includes('--check');
  const rootFlag = argv.indexOf('--root');
  const root = resolve(
    rootFlag === -1 ? join(dirname(fileURLToPath(import.meta.url)), '..') : (argv[rootFlag + 1] ?? '.'),
  );
  const { files } = await generate(root);
  const drift = await findDrift(root, files);
  const problems = describeDrift(drift);
  if (check) {
    if (problems.length === 0) {
      console.log(`visualize: ${files.size} files up to date.`);
      return 0;
    }
    console.error('visualize: the diagrams do not match the machine definitions:');
    for (const line of problems) console.error(line);
    console.error('Run `npm run visualize` and commit the result.');
    return 1;
  }
  await mkdir(join(root, OUTPUT_DIR), { recursive: true });
  for (const path of [...drift.missing, ...drift.changed.map((change) => change.path)]) {
    await writeFile(join(root, path), files.get(path) ?? '');
  }
  for (const path of drift.unexpected) await rm(join(root, path));
  console.log(
    problems.length === 0
      ? `visualize: ${files.size} files already up to date.`
      : `visualize: regenerated\n${problems.join('\n')}`,
  );
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = 2;
    },
  );
}
