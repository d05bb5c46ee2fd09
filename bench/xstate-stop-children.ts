/**
 * Upstream reproduction (XState 5.33): stopping a machine with N children costs O(N²), with a large constant when
 * the child ids are names.
 *
 * `stopChildren` resolves one `stopChild` action per child, and each `resolveStop` copies the parent's `children`
 * with an object spread and deletes one key. After the first `delete` the object is in dictionary mode, where V8's
 * spread copies each property far more slowly than it copies the indexed elements that numeric ids (`'0'`, `'1'`…)
 * give. The pool's shards name their children by slot number for this reason (machines/shard.machine.ts).
 *
 *   npx tsx bench/xstate-stop-children.ts [children=800]
 *
 * A fix upstream would build the parent's `children` once for all the children a transition stops.
 */
import { createActor, setup } from 'xstate';

const count = Number(process.argv[2] ?? 800);
const child = setup({}).createMachine({ initial: 'idle', states: { idle: {} } });

function stopMs(childId: (index: number) => string): number {
  const parent = setup({ actors: { child } }).createMachine({
    context: ({ spawn }) => {
      for (let index = 0; index < count; index += 1) spawn('child', { id: childId(index) });
      return {};
    },
  });
  const actor = createActor(parent);
  actor.start();
  const started = performance.now();
  actor.stop();
  return performance.now() - started;
}

// Warm both paths up before measuring.
stopMs((index) => `child-${index}`);
stopMs(String);
const named = stopMs((index) => `child-${index}`);
const numbered = stopMs(String);
console.log(`stopping a parent with ${count} children (XState ${await xstateVersion()}):`);
console.log(`  named ids ('child-7'): ${named.toFixed(1)} ms`);
console.log(`  numeric ids ('7'):     ${numbered.toFixed(1)} ms`);

async function xstateVersion(): Promise<string> {
  const { createRequire } = await import('node:module');
  return (createRequire(import.meta.url)('xstate/package.json') as { version: string }).version;
}
