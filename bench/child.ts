/**
 * Runs one benchmark part in this process and prints its rows as one JSON line prefixed with `BENCH_ROWS `.
 * The runner starts one such process per part (and per size or contender where state would leak between them).
 *
 *   node --expose-gc --import tsx bench/child.ts PART [--quick] [--key=value ...]
 */
import type { Part, PartOptions } from './lib/protocol.js';

const PARTS: Record<string, () => Promise<{ run: Part }>> = {
  outcomes: () => import('./parts/outcomes.js'),
  scale: () => import('./parts/scale.js'),
  heap: () => import('./parts/heap.js'),
  crawl: () => import('./parts/crawl.js'),
  persistence: () => import('./parts/persistence.js'),
  fleet: () => import('./parts/fleet.js'),
};

const [partName, ...rest] = process.argv.slice(2);
const load = partName === undefined ? undefined : PARTS[partName];
if (!load) {
  console.error(`usage: child.ts <${Object.keys(PARTS).join('|')}> [--quick] [--key=value ...]`);
  process.exit(2);
}
const options: PartOptions = { quick: false, args: {} };
for (const arg of rest) {
  if (arg === '--quick') options.quick = true;
  else {
    const match = /^--([\w-]+)=(.*)$/.exec(arg);
    if (!match) {
      console.error(`unknown argument: ${arg}`);
      process.exit(2);
    }
    options.args[match[1]!] = match[2]!;
  }
}
const { run } = await load();
const rows = await run(options);
process.stdout.write(`BENCH_ROWS ${JSON.stringify(rows)}\n`);
// Timers of pools that were dropped rather than torn down must not keep the child alive.
process.exit(0);
