#!/usr/bin/env node
/**
 * The package as a user gets it: `npm pack`, install the tarball into an empty project with the optional peers
 * left out, then
 *   - run the quick start against the bundled test site (ESM import),
 *   - `require()` the root and a subpath from CommonJS,
 *   - check that the root entry loads only the four core dependencies (fresh process, every load recorded),
 *   - import and require each subpath without its peer (a MissingPeerDependencyError naming the package) and
 *     with it (peers linked in from this repository's node_modules, so no download is needed),
 *   - check that source maps and declaration maps point at files that are in the package,
 *   - type-check a TypeScript file against the shipped declarations.
 *
 * Offline-capable: the tarball's own dependencies come from npm's cache (`--prefer-offline`); the registry is asked
 * only for what the cache lacks. Exits non-zero on the first failure. `npm run test:pack` runs it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadedPackages } from './loaded-packages.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
const CORE = Object.keys(pkg.dependencies).sort();
const PEERS = Object.keys(pkg.peerDependencies).sort();
/**
 * Subpath → the peers it needs at run time. `/playwright` works on the browser objects a caller passes and imports
 * only types from `playwright-core` (installed along with `playwright` too), so it loads without it.
 */
const SUBPATHS = {
  redis: ['ioredis'],
  inspect: ['@statelyai/inspect', 'ws'],
  dashboard: [],
  testing: [],
  crawlee: ['crawlee'],
  playwright: [],
};
const keep = process.argv.includes('--keep');
const work = mkdtempSync(join(tmpdir(), 'session-supervisor-tarball-'));
const project = join(work, 'project');
let failures = 0;

function step(title) {
  console.log(`== ${title}`);
}
function check(ok, what) {
  console.log(`${ok ? '  ✓' : '  ✗'} ${what}`);
  if (!ok) failures += 1;
  return ok;
}
function run(command, args, options = {}) {
  return spawnSync(command, args, { cwd: project, encoding: 'utf8', ...options });
}
function node(args, env = {}) {
  return run(process.execPath, args, { env: { ...process.env, ...env } });
}
function finish() {
  if (keep) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
  console.log(failures === 0 ? 'tarball test passed' : `tarball test: ${failures} check(s) failed`);
  process.exit(failures === 0 ? 0 : 1);
}

try {
  step('npm pack (builds through prepack)');
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--pack-destination', work], {
      cwd: repo,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  )[0];
  const tarball = join(work, packed.filename);
  const files = packed.files.map((file) => file.path);
  check(
    !files.some((file) => file.startsWith('test/') || file.startsWith('bench/')),
    'no tests or benchmarks packed',
  );
  check(
    files.includes('src/index.ts') && files.includes('machines/session.machine.ts'),
    'sources shipped for the maps',
  );
  console.log(`  ${packed.filename}: ${files.length} files, ${(packed.size / 1024).toFixed(0)} KiB`);

  step('install into an empty project, optional peers omitted');
  mkdirSync(project);
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'user-project', private: true }, null, 2),
  );
  const install = run(
    'npm',
    ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'],
    {
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  if (!check(install.status === 0, 'npm install <tarball>')) finish();
  const installed = readdirSync(join(project, 'node_modules'));
  for (const peer of PEERS) check(!existsSync(join(project, 'node_modules', peer)), `${peer} not installed`);
  check(
    CORE.every((name) => installed.includes(name)),
    `core dependencies installed: ${CORE.join(', ')}`,
  );
  const own = join(project, 'node_modules', pkg.name);

  step('quick start against the bundled test site (ESM)');
  writeFileSync(
    join(project, 'quick-start.mjs'),
    `import { SessionPool } from 'session-supervisor';
import { NO_FAULTS, startTestSite } from 'session-supervisor/testing';

const site = await startTestSite({ ...NO_FAULTS, seed: 7 });
const pool = await SessionPool.open({ maxPoolSize: 3 });
const retired = [];
pool.on('sessionRetired', ({ reason }) => retired.push(reason));
let ok = 0;
for (let page = 0; page < 20; page += 1) {
  const response = await pool.fetch(\`\${site.url}/page/\${page}\`);
  if (response.statusCode === 200 && response.text().includes('<a ')) ok += 1;
}
const session = await pool.getSession();
const cookies = session.getCookieString(site.url);
await pool.teardown();
await site.close();
console.log(JSON.stringify({ ok, cookies: cookies.length > 0, retired: retired.length }));
`,
  );
  const quick = node(['quick-start.mjs']);
  const quickResult = quick.status === 0 ? JSON.parse(quick.stdout.trim().split('\n').at(-1)) : undefined;
  check(quick.status === 0 && quick.stderr === '', `runs cleanly${quick.stderr ? `: ${quick.stderr}` : ''}`);
  check(quickResult?.ok === 20, `20 of 20 pages served (${quickResult?.ok})`);
  check(quickResult?.cookies === true, 'the session kept the site cookie');

  step('require() from CommonJS (Node >= 20.19)');
  writeFileSync(
    join(project, 'require.cjs'),
    `const root = require('session-supervisor');
const testing = require('session-supervisor/testing');
const dashboard = require('session-supervisor/dashboard');
console.log(JSON.stringify({
  pool: typeof root.SessionPool,
  machine: typeof root.sessionMachine.transition,
  error: typeof root.SessionSupervisorError,
  site: typeof testing.startTestSite,
  dashboard: typeof dashboard.startDashboard,
}));
`,
  );
  const required = node(['require.cjs']);
  check(
    required.status === 0,
    `require() works${required.stderr ? `: ${required.stderr.split('\n')[0]}` : ''}`,
  );
  if (required.status === 0) {
    const types = JSON.parse(required.stdout);
    check(
      Object.values(types).every((type) => type === 'function'),
      `exports are there: ${required.stdout.trim()}`,
    );
  }

  step('the CLI, without the optional peers');
  const bin = join(project, 'node_modules/.bin/session-supervisor');
  const version = run(bin, ['--version']);
  check(
    version.status === 0 && version.stdout.trim() === pkg.version,
    `session-supervisor --version (${version.stdout.trim()})`,
  );
  const demo = run(bin, [
    'demo',
    '--pages',
    '30',
    '--sessions',
    '3',
    '--json',
    '--state-dir',
    join(work, 'demo-state'),
  ]);
  const demoSummary = demo.status === 0 ? JSON.parse(demo.stdout) : undefined;
  check(
    demo.status === 0 && demoSummary?.pages?.ok + demoSummary?.pages?.failed === 30,
    `session-supervisor demo crawls the test site${demo.status === 0 ? '' : `: ${demo.stderr.split('\n')[0]}`}`,
  );

  step('the root entry loads only the core dependencies (fresh process)');
  const log = join(work, 'root-loads.jsonl');
  const hook = pathToFileURL(join(repo, 'scripts/packaging/record-loads.mjs')).href;
  const traced = node(
    ['--import', hook, '--input-type=module', '-e', "await import('session-supervisor');"],
    {
      RECORD_LOADS_FILE: log,
    },
  );
  check(traced.status === 0, 'imported under the load recorder');
  if (traced.status === 0) {
    const { loaded, importedByOwn } = loadedPackages(log, own);
    check(
      importedByOwn.every((name) => CORE.includes(name)) &&
        CORE.every((name) => importedByOwn.includes(name)),
      `the package's own imports: ${importedByOwn.join(', ')}`,
    );
    check(!PEERS.some((peer) => loaded.includes(peer)), 'no optional peer loaded');
  }

  const probe = (subpath, kind) => {
    const specifier = `session-supervisor/${subpath}`;
    const code =
      kind === 'import'
        ? `try { const m = await import('${specifier}'); console.log(JSON.stringify({ ok: Object.keys(m).length })); }
catch (e) { console.log(JSON.stringify({ code: e.code, name: e.name, packageName: e.packageName, message: e.message })); }`
        : `try { const m = require('${specifier}'); console.log(JSON.stringify({ ok: Object.keys(m).length })); }
catch (e) { console.log(JSON.stringify({ code: e.code, name: e.name, packageName: e.packageName, message: e.message })); }`;
    const result = node(kind === 'import' ? ['--input-type=module', '-e', code] : ['-e', code]);
    try {
      return JSON.parse(result.stdout.trim().split('\n').at(-1));
    } catch {
      return { crashed: result.stderr.split('\n').slice(0, 3).join(' ') };
    }
  };

  step('each subpath without its peer');
  for (const [subpath, peers] of Object.entries(SUBPATHS)) {
    if (!existsSync(join(own, 'dist/src', subpath, 'index.js'))) {
      check(false, `${subpath}: dist/src/${subpath}/index.js is not in the package`);
      continue;
    }
    for (const kind of ['import', 'require']) {
      const outcome = probe(subpath, kind);
      if (peers.length === 0) {
        check(
          outcome.ok > 0,
          `${kind} session-supervisor/${subpath} needs no peer (${JSON.stringify(outcome)})`,
        );
      } else {
        check(
          outcome.code === 'ERR_MISSING_PEER_DEPENDENCY' &&
            peers.includes(outcome.packageName) &&
            outcome.message.includes(`npm install ${outcome.packageName}`),
          `${kind} session-supervisor/${subpath} → ${outcome.name}: ${outcome.message ?? JSON.stringify(outcome)}`,
        );
      }
    }
  }

  step('source maps and declaration maps resolve to shipped files');
  let maps = 0;
  let broken = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.map')) {
        maps += 1;
        const map = JSON.parse(readFileSync(path, 'utf8'));
        for (const source of map.sources) {
          const target = resolve(dirname(path), map.sourceRoot ?? '', source);
          if (!existsSync(target)) broken.push(`${relative(own, path)} → ${source}`);
        }
      }
    }
  };
  walk(join(own, 'dist'));
  const declarationMaps = readdirSync(join(own, 'dist/src')).filter((name) =>
    name.endsWith('.d.ts.map'),
  ).length;
  check(maps > 0 && declarationMaps > 0, `${maps} maps, declaration maps included`);
  check(
    broken.length === 0,
    `every map source exists${broken.length ? `: ${broken.slice(0, 3).join('; ')}` : ''}`,
  );
  broken = [];

  step('TypeScript resolves the shipped declarations (moduleResolution nodenext)');
  writeFileSync(
    join(project, 'types.ts'),
    `import { type Logger, SessionPool, type SessionPoolOptions } from 'session-supervisor';
import { startDashboard } from 'session-supervisor/dashboard';
import { startTestSite } from 'session-supervisor/testing';

const logger: Logger = console;
const options: SessionPoolOptions = { maxPoolSize: 2, logger };
export async function main(): Promise<number> {
  const site = await startTestSite();
  const pool = await SessionPool.open(options);
  const dashboard = await startDashboard(pool);
  const response = await pool.fetch(site.url);
  await dashboard.close();
  await pool.teardown();
  await site.close();
  return response.statusCode;
}
`,
  );
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'ES2022',
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        types: ['node'],
        typeRoots: [join(repo, 'node_modules/@types')],
      },
      files: ['types.ts'],
    }),
  );
  const tsc = run(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json']);
  check(tsc.status === 0, `tsc --noEmit${tsc.status === 0 ? '' : `:\n${tsc.stdout}${tsc.stderr}`}`);

  step("each subpath with its peer (linked from this repository's node_modules)");
  for (const peer of PEERS) {
    const target = join(project, 'node_modules', peer);
    mkdirSync(dirname(target), { recursive: true });
    symlinkSync(join(repo, 'node_modules', peer), target, 'dir');
  }
  for (const [subpath, peers] of Object.entries(SUBPATHS)) {
    if (peers.length === 0 || !existsSync(join(own, 'dist/src', subpath, 'index.js'))) continue;
    for (const kind of ['import', 'require']) {
      const outcome = probe(subpath, kind);
      check(
        outcome.ok > 0,
        `${kind} session-supervisor/${subpath} with ${peers.join(' + ')} (${JSON.stringify(outcome)})`,
      );
    }
  }
} catch (error) {
  check(false, error instanceof Error ? error.message : String(error));
}
finish();
