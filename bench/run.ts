/**
 * `npm run bench`: runs every benchmark part in its own child process, prints a table of medians and ratios
 * (ours against Crawlee's SessionPool and against the floor), checks the targets, and writes the raw
 * samples to bench/results/latest.json (`--out=FILE` elsewhere). `--quick` is the CI smoke pass: tiny sizes, one round, a few seconds;
 * it checks that every benchmark runs, never how fast. Exits non-zero if any part fails.
 *
 *   npm run bench [-- --quick] [-- --only=outcomes,scale]
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONTENDERS } from './lib/contenders.js';
import type { Column, Row, Sample } from './lib/protocol.js';
import { median } from './lib/stats.js';
import { type Medians, TARGETS } from './lib/targets.js';

const benchDir = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const fromSource = quick || argv.includes('--source');
const only = argv
  .find((arg) => arg.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
// A smoke pass writes no file unless asked: its numbers mean nothing and must not replace a recorded run.
const outFile =
  argv.find((arg) => arg.startsWith('--out='))?.slice('--out='.length) ??
  (quick ? undefined : join(benchDir, 'results', 'latest.json'));

interface Job {
  part: string;
  args: string[];
}

function plan(): Job[] {
  const sizes = quick ? [100, 1000] : [1000, 10_000, 100_000];
  const jobs: Job[] = [];
  for (const size of sizes) jobs.push({ part: 'outcomes', args: [`--size=${size}`] });
  for (const size of quick ? [1000] : [10_000, 100_000])
    jobs.push({ part: 'scale', args: [`--size=${size}`] });
  // Heap: one process per contender per round, so no contender is charged for another's garbage.
  for (let round = 0; round < (quick ? 1 : 3); round += 1) {
    for (const contender of CONTENDERS) jobs.push({ part: 'heap', args: [`--contender=${contender}`] });
  }
  jobs.push({ part: 'crawl', args: [] });
  jobs.push({ part: 'persistence', args: [] });
  jobs.push({ part: 'fleet', args: [] });
  return jobs.filter((job) => !only || only.includes(job.part));
}

/**
 * Compiles the library into a temporary directory (with a link to the repository's node_modules) and returns
 * its entry point, or undefined (the source runs through tsx) if the build emitted nothing.
 */
function buildLibrary(): { entry: string; dir: string } | undefined {
  const root = join(benchDir, '..');
  const dir = mkdtempSync(join(tmpdir(), 'session-supervisor-bench-'));
  const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
  try {
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', dir], {
      cwd: root,
      stdio: 'pipe',
    });
  } catch (error) {
    process.stderr.write(
      `bench: tsc reported errors (${(error as Error).message.split('\n')[0]}); using what it emitted\n`,
    );
  }
  const entry = join(dir, 'src', 'index.js');
  if (!existsSync(entry)) {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  return { entry, dir };
}

function runJob(job: Job, env: NodeJS.ProcessEnv): Promise<Row[]> {
  const args = ['--expose-gc', '--import', 'tsx', join(benchDir, 'child.ts'), job.part, ...job.args];
  if (quick) args.push('--quick');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const line = out.split('\n').find((text) => text.startsWith('BENCH_ROWS '));
      if (code !== 0 || !line) {
        reject(
          new Error(`${job.part} ${job.args.join(' ')} failed (exit ${code ?? signal})\n${out.slice(-2000)}`),
        );
        return;
      }
      resolve(JSON.parse(line.slice('BENCH_ROWS '.length)) as Row[]);
    });
  });
}

/** Rows with the same id (from several processes) are merged sample by sample. */
function merge(rows: Row[], into: Map<string, Row>): void {
  for (const row of rows) {
    const existing = into.get(row.id);
    if (!existing) {
      into.set(row.id, structuredClone(row));
      continue;
    }
    for (const [name, samples] of Object.entries(row.samples) as [Column, Sample[]][]) {
      existing.samples[name] = [...(existing.samples[name] ?? []), ...samples];
    }
  }
}

function medianOf(samples: Sample[] | undefined): { wall: number; cpu: number } | undefined {
  if (!samples || samples.length === 0) return undefined;
  return { wall: median(samples.map((s) => s.wall)), cpu: median(samples.map((s) => s.cpu)) };
}

function formatValue(value: number | undefined, unit: string): string {
  if (value === undefined || Number.isNaN(value)) return '—';
  if (unit === 'ms') return value < 10 ? value.toFixed(2) : Math.round(value).toLocaleString('en');
  if (unit === 'µs/req') return value.toFixed(0);
  return value >= 100 ? Math.round(value).toLocaleString('en') : value.toFixed(2);
}

function formatRatio(row: Row, medians: Medians, against: Column): string {
  const m = medians.get(row.id);
  const ours = m?.ours;
  const other = m?.[against];
  if (!ours || !other) return '—';
  const part = (basis: 'wall' | 'cpu') => {
    const r = row.better === 'higher' ? ours[basis] / other[basis] : other[basis] / ours[basis];
    return Number.isFinite(r) ? r.toFixed(2) : '—';
  };
  return row.unit === 'bytes' ? part('wall') : `${part('wall')} / ${part('cpu')}`;
}

function table(rows: Row[], medians: Medians): string {
  const header = [
    'metric',
    'unit',
    'ours',
    'Crawlee',
    'floor',
    'XState floor',
    'ours vs Crawlee',
    'ours vs floor',
    'ours vs XState floor',
  ];
  const lines = rows.map((row) => {
    const m = medians.get(row.id);
    return [
      row.label,
      row.unit,
      formatValue(m?.ours?.wall, row.unit),
      formatValue(m?.crawlee?.wall, row.unit),
      formatValue(m?.floor?.wall, row.unit),
      formatValue(m?.xstate?.wall, row.unit),
      formatRatio(row, medians, 'crawlee'),
      formatRatio(row, medians, 'floor'),
      formatRatio(row, medians, 'xstate'),
    ];
  });
  const all = [header, ...lines];
  const widths = header.map((_, col) => Math.max(...all.map((line) => line[col]!.length)));
  const render = (line: string[]) => `| ${line.map((cell, col) => cell.padEnd(widths[col]!)).join(' | ')} |`;
  return [render(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(render)].join(
    '\n',
  );
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const byId = new Map<string, Row>();
  const failures: string[] = [];
  const build = fromSource ? undefined : buildLibrary();
  const env = { ...process.env };
  if (build) env.BENCH_LIB = build.entry;
  else delete env.BENCH_LIB;
  const library = build
    ? 'compiled with tsc'
    : 'TypeScript source through tsx (understates ours, see bench/README.md)';
  for (const job of plan()) {
    const name = `${job.part} ${job.args.join(' ')}`.trim();
    process.stderr.write(`bench: ${name} …\n`);
    try {
      merge(await runJob(job, env), byId);
    } catch (error) {
      failures.push(name);
      process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  }
  const rows = [...byId.values()];
  const medians: Medians = new Map(
    rows.map((row) => [
      row.id,
      Object.fromEntries(
        (Object.keys(row.samples) as Column[]).map((name) => [name, medianOf(row.samples[name])]),
      ),
    ]),
  );
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const machine = `${availableParallelism()} cores (${cpu}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${process.platform}`;
  console.log(`\nsession-supervisor benchmarks${quick ? ' (quick smoke pass: numbers mean nothing)' : ''}`);
  console.log(`${startedAt.toISOString()} on ${machine}; library ${library}`);
  console.log('Values are medians (wall clock). Ratios: wall / CPU time; above 1.00 means ours is better.\n');
  console.log(table(rows, medians));
  const notes = rows.filter((row) => row.note).map((row) => `- ${row.label}: ${row.note}`);
  if (notes.length > 0) console.log(`\n${notes.join('\n')}`);
  console.log('\nTargets (this machine):');
  for (const target of TARGETS) {
    const result = target.check(medians);
    const verdict =
      result === undefined ? 'not measured' : `${result.met ? 'met   ' : 'MISSED'} ${result.value}`;
    console.log(`- ${verdict.padEnd(32)} ${target.text}`);
  }
  const plain = medians.get('crawl.rps')?.ours;
  const writeThrough = medians.get('crawl.rps.writeThrough')?.ours;
  if (plain && writeThrough) {
    const share = (basis: 'wall' | 'cpu') => `${((writeThrough[basis] / plain[basis]) * 100).toFixed(0)}%`;
    console.log(
      `\nWrite-through file store on the crawl: ${share('wall')} of the plain crawl's req/s (wall), ${share('cpu')} (CPU).`,
    );
  }
  for (const row of rows.filter((each) => each.details)) console.log(`\n${row.label}:\n${row.details}`);
  if (outFile) {
    mkdirSync(dirname(outFile), { recursive: true });
    writeFileSync(outFile, `${JSON.stringify({ startedAt, machine, library, quick, rows }, null, 2)}\n`);
    console.log(`\nRaw samples: ${outFile}`);
  }
  if (build) rmSync(build.dir, { recursive: true, force: true });
  if (failures.length > 0) {
    console.error(`\nbench: ${failures.length} part(s) failed: ${failures.join('; ')}`);
    process.exitCode = 1;
  }
}

await main();
