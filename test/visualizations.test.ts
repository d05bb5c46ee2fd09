import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { createMachine, setup } from 'xstate';
import { generate, loadMachines, syncMarkdown } from '../scripts/lib/generate.js';
import { edgeLabel, machineToGraph } from '../scripts/lib/machine-graph.js';
import { toMermaid } from '../scripts/lib/mermaid.js';

const run = promisify(execFile);
const repoRoot = resolve(import.meta.dirname, '..');
const tsx = join(repoRoot, 'node_modules', '.bin', 'tsx');
const script = join(repoRoot, 'scripts', 'visualize.ts');

describe('committed diagrams', () => {
  it('match what the current machine definitions generate (run `npm run visualize` after changing a machine)', async () => {
    const { files } = await generate(repoRoot);
    expect([...files.keys()]).toEqual(
      expect.arrayContaining([
        'visualizations/session.machine.mmd',
        'visualizations/session.machine.svg',
        'visualizations/shard.machine.mmd',
        'visualizations/shard.machine.svg',
        'visualizations/pool.machine.mmd',
        'visualizations/pool.machine.svg',
        'visualizations/README.md',
      ]),
    );
    for (const [path, content] of files) {
      const committed = await readFile(join(repoRoot, path), 'utf8').catch(() => '(missing)');
      expect(committed, `${path} is out of date: run npm run visualize`).toBe(content);
    }
  });

  it('generates byte-identical output on every run', async () => {
    const first = await generate(repoRoot);
    const second = await generate(repoRoot);
    expect(second.files).toEqual(first.files);
  });
});

describe('session diagram', () => {
  it('shows every state, the eventless (always) transitions, the deadline steps, guards and actions', async () => {
    const sources = await loadMachines(repoRoot);
    const session = sources.find((source) => source.name === 'session.machine');
    const mermaid = toMermaid(machineToGraph(session!.machine), session!.sourcePath);
    expect(
      mermaid.startsWith('---\ntitle: session (machines/session.machine.ts)\n---\nstateDiagram-v2\n'),
    ).toBe(true);
    for (const state of ['fresh', 'active', 'degraded', 'blocked', 'expired', 'retired']) {
      expect(mermaid).toContain(`state "${state}" as ${state}\n`);
    }
    expect(mermaid).toContain('  [*] --> fresh\n');
    expect(mermaid).toContain('  retired --> [*]\n');
    expect(mermaid).toContain('  active --> expired : always (1) [isUsageLimitReached] / recordUsageLimit\n');
    expect(mermaid).toContain('  expired --> retired : always\n');
    expect(mermaid).toContain(
      '  blocked --> active : session.coolDownStep (1) [isCoolDownOver] / endCoolDown\n',
    );
    expect(mermaid).toContain(
      '  session__any_state --> expired : session.expiryStep (1) [isExpiryDue] / recordExpiry\n',
    );
    expect(mermaid).toContain('  session__any_state : session.release [hasReservation] / recordRelease\n');
    expect(mermaid).toContain('  active : session.reserve [canReserve] / recordReservation\n');
    expect(mermaid).toContain('  blocked --> blocked : session.coolDown / startCoolDown (re-enter)\n');
    expect(mermaid).toContain('  active : session.markGood / recordSuccess\n');
    // XState's own timer bookkeeping is not part of the design.
    expect(mermaid).not.toMatch(/raise|cancel/);
  });

  it('renders the SVG with the same transitions', async () => {
    const { files } = await generate(repoRoot);
    const svg = files.get('visualizations/session.machine.svg')!;
    expect(svg).toMatch(/^<\?xml/);
    expect(svg).toContain('session.coolDownStep (1) [isCoolDownOver] / endCoolDown');
    expect(svg).toContain('always (3) [isNotCoolingDown]');
    expect(svg).toContain('any state');
  });
});

describe('machine graph', () => {
  it('labels nested states, numeric delays, inline guards and targetless transitions', () => {
    const machine = setup({ guards: { ready: () => true } }).createMachine({
      id: 'door',
      initial: 'closed',
      states: {
        closed: { on: { open: { guard: 'ready', target: 'opened' }, knock: { actions: () => {} } } },
        opened: {
          initial: 'swinging',
          states: { swinging: { after: { 1500: 'still' } }, still: { type: 'final' } },
          always: { guard: ({ context }) => context === undefined, target: 'closed' },
        },
      },
    });
    const graph = machineToGraph(machine);
    const opened = graph.root.children[1]!;
    expect(opened.id).toBe('opened');
    expect(opened.children.map((child) => child.id)).toEqual(['opened__swinging', 'opened__still']);
    expect(edgeLabel(opened.children[0]!.edges[0]!)).toBe('after 1500ms');
    expect(edgeLabel(opened.edges[0]!)).toBe('always [inline]');
    const mermaid = toMermaid(graph, 'door.ts');
    expect(mermaid).toContain('  state "opened" as opened {\n    [*] --> opened__swinging\n');
    expect(mermaid).toContain('  closed : knock / inline\n');
    expect(mermaid).toContain('  closed --> opened : open [ready]\n');
  });

  it('keeps Mermaid syntax characters in labels literal', () => {
    const graph = machineToGraph(
      createMachine({ id: 'm', initial: 'a', states: { a: { on: { 'x;#y': 'a' } } } }),
    );
    expect(toMermaid(graph, 'm.ts')).toContain('a --> a : x#59;#35;y\n');
  });

  it('replaces only the content between a machine’s markers in Markdown', () => {
    const markdown = 'intro\n<!-- visualize:m:start -->\nold\n<!-- visualize:m:end -->\noutro\n';
    const synced = syncMarkdown(markdown, new Map([['m', 'stateDiagram-v2\n']]));
    expect(synced).toBe(
      'intro\n<!-- visualize:m:start -->\n```mermaid\nstateDiagram-v2\n```\n<!-- visualize:m:end -->\noutro\n',
    );
    expect(syncMarkdown(synced, new Map([['m', 'stateDiagram-v2\n']]))).toBe(synced);
  });
});

describe('npm run visualize -- --check', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('exits 1 naming the stale files after a machine changes, and 0 once regenerated', async () => {
    const root = await mkdtemp(join(tmpdir(), 'visualize-'));
    dirs.push(root);
    await cp(join(repoRoot, 'machines'), join(root, 'machines'), { recursive: true });
    await symlink(join(repoRoot, 'node_modules'), join(root, 'node_modules'), 'dir');
    await writeFile(join(root, 'package.json'), '{ "type": "module" }\n');
    // The committed diagrams, which the test above finds in step with these machines.
    await cp(join(repoRoot, 'visualizations'), join(root, 'visualizations'), { recursive: true });
    const clean = await run(tsx, [script, '--root', root, '--check']);
    expect(clean.stdout).toContain('up to date');

    const sessionFile = join(root, 'machines', 'session.machine.ts');
    const source = await readFile(sessionFile, 'utf8');
    await writeFile(
      sessionFile,
      source.replace("'session.markBad': { target: 'active'", "'session.markWorse': { target: 'active'"),
    );
    const failed = await run(tsx, [script, '--root', root, '--check']).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain('outdated:   visualizations/session.machine.mmd');
    expect(failed?.stderr).toContain('outdated:   visualizations/session.machine.svg');
    expect(failed?.stderr).not.toContain('pool.machine');

    await run(tsx, [script, '--root', root]);
    expect(await readFile(join(root, 'visualizations', 'session.machine.mmd'), 'utf8')).toContain(
      'fresh --> active : session.markWorse / recordFailure',
    );
    await expect(run(tsx, [script, '--root', root, '--check'])).resolves.toBeDefined();
  }, 90_000);
});
