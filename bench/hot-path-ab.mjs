/**
 * `getSession()` + `markGood()` of two builds of the library, each measured alone in a fresh process (two builds
 * in one process share xstate's inline caches, which skews whichever runs second), in pairs whose order
 * alternates. Prints each pair and the median ratio new ÷ old of ops per CPU-second.
 *
 *   git worktree add /tmp/old <commit> && (cd /tmp/old && npm ci && npx tsc -p tsconfig.build.json --outDir /tmp/old-build)
 *   npx tsc -p tsconfig.build.json --outDir /tmp/new-build
 *   node bench/hot-path-ab.mjs /tmp/old-build /tmp/new-build [size=1000] [pairs=10]
 *
 * Each build directory needs `node_modules` resolvable from it (a symlink to the repository's will do).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const MEASURE_MS = 3000;
const WARM_UP_OPS = 50_000;

async function measure(buildDir, size) {
  const lib = await import(pathToFileURL(join(buildDir, 'src', 'index.js')).href);
  const pool = await lib.SessionPool.open({
    maxPoolSize: size,
    sessionOptions: { maxUsageCount: 1e9, maxAgeSecs: 1e6 },
  });
  await pool.addSessions(size);
  for (let i = 0; i < WARM_UP_OPS; i += 1) (await pool.getSession()).markGood();
  const before = process.cpuUsage();
  const started = performance.now();
  let ops = 0;
  while (performance.now() - started < MEASURE_MS) {
    for (let i = 0; i < 1000; i += 1) (await pool.getSession()).markGood();
    ops += 1000;
  }
  const cpu = process.cpuUsage(before);
  return ops / ((cpu.user + cpu.system) / 1e6);
}

if (process.env.HOT_PATH_AB_CHILD) {
  const rate = await measure(process.env.HOT_PATH_AB_CHILD, Number(process.env.HOT_PATH_AB_SIZE));
  process.stdout.write(`${Math.round(rate)}\n`);
  process.exit(0);
}

const [oldDir, newDir, size = '1000', pairs = '10'] = process.argv.slice(2);
if (!oldDir || !newDir) {
  console.error('usage: node bench/hot-path-ab.mjs <old-build-dir> <new-build-dir> [size] [pairs]');
  process.exit(2);
}
const self = fileURLToPath(import.meta.url);
const run = (dir) =>
  Number(
    execFileSync(process.execPath, [self], {
      env: { ...process.env, HOT_PATH_AB_CHILD: dir, HOT_PATH_AB_SIZE: size },
      encoding: 'utf8',
    }),
  );
const ratios = [];
for (let pair = 0; pair < Number(pairs); pair += 1) {
  const [first, second] = pair % 2 === 0 ? [newDir, oldDir] : [oldDir, newDir];
  const rates = new Map([
    [first, run(first)],
    [second, run(second)],
  ]);
  const ratio = rates.get(newDir) / rates.get(oldDir);
  ratios.push(ratio);
  console.log(
    `pair ${pair + 1}: old ${rates.get(oldDir)} new ${rates.get(newDir)} ops/CPU-s, ${ratio.toFixed(3)}`,
  );
}
ratios.sort((a, b) => a - b);
console.log(`size ${size}, ${pairs} pairs: median new ÷ old ${ratios[ratios.length >> 1].toFixed(3)}`);
