/**
 * Generates every diagram in memory: for each machine in `machines/*.machine.ts`, a Mermaid `.mmd` and a Graphviz
 * `.svg` under `visualizations/`, an index page, and the Mermaid blocks between `visualize` markers in Markdown
 * files. Pure and deterministic: the same machines give byte-identical output, so drift is a string compare.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Graphviz } from '@hpcc-js/wasm-graphviz';
import { type AnyStateMachine, StateMachine } from 'xstate';
import { toDot } from './dot.js';
import { type MachineGraph, machineToGraph } from './machine-graph.js';
import { toMermaid } from './mermaid.js';

export const OUTPUT_DIR = 'visualizations';
export const MACHINES_DIR = 'machines';
/** Markdown files whose `visualize` marker regions are kept in sync (if they have any). */
export const MARKDOWN_FILES = ['README.md'];

export interface MachineSource {
  /** File name without `.ts`, e.g. `session.machine`; names the outputs. */
  name: string;
  /** Repository-relative path of the definition, shown in each diagram's title. */
  sourcePath: string;
  machine: AnyStateMachine;
}

/** Imports every `*.machine.ts` under `machines/` and picks its exported machine(s), sorted by file name. */
export async function loadMachines(repoRoot: string): Promise<MachineSource[]> {
  const dir = join(repoRoot, MACHINES_DIR);
  const files = (await readdir(dir)).filter((file) => file.endsWith('.machine.ts')).sort();
  const sources: MachineSource[] = [];
  for (const file of files) {
    const module = (await import(pathToFileURL(join(dir, file)).href)) as Record<string, unknown>;
    const machines = Object.values(module).filter(
      (value) => value instanceof StateMachine,
    ) as AnyStateMachine[];
    const base = file.slice(0, -'.ts'.length);
    for (const machine of machines) {
      sources.push({
        name: machines.length === 1 ? base : `${base}.${machine.id}`,
        sourcePath: relative(repoRoot, join(dir, file)).split('\\').join('/'),
        machine,
      });
    }
  }
  return sources;
}

export function markerStart(name: string): string {
  return `<!-- visualize:${name}:start -->`;
}

export function markerEnd(name: string): string {
  return `<!-- visualize:${name}:end -->`;
}

/** Replaces the content between each machine's markers with its current Mermaid block. */
export function syncMarkdown(markdown: string, mermaidByName: ReadonlyMap<string, string>): string {
  let result = markdown;
  for (const [name, mermaid] of mermaidByName) {
    const start = markerStart(name);
    const end = markerEnd(name);
    const from = result.indexOf(start);
    const to = result.indexOf(end, from);
    if (from === -1 || to === -1) continue;
    const block = `${start}\n\`\`\`mermaid\n${mermaid}\`\`\`\n`;
    result = result.slice(0, from) + block + result.slice(to);
  }
  return result;
}

function indexPage(sources: readonly MachineSource[], mermaidByName: ReadonlyMap<string, string>): string {
  const parts = [
    '# State machine diagrams',
    '',
    'Generated from the machine definitions by `npm run visualize`; do not edit by hand.',
    '`npm run visualize -- --check` fails when a machine changed and these files were not regenerated.',
    '',
    'Reading them: a transition is labelled `event [guard] / actions`. `always` marks an eventless transition',
    '(taken as soon as its guard holds; `(1)`, `(2)`… give the order the guards are tried), `after <delay>` a',
    'delayed one, and `(re-enter)` a transition that exits and re-enters its state, restarting its timers.',
    'Transitions without a target are listed inside their state. Transitions on the machine root apply in',
    'every state and start from the dashed "any state" box. In the SVGs, `always` edges are dashed blue and',
    'delayed edges bold orange.',
    '',
  ];
  for (const source of sources) {
    parts.push(`## ${source.machine.id} — \`${source.sourcePath}\``, '');
    parts.push(
      `SVG: [${source.name}.svg](./${source.name}.svg) · Mermaid source: [${source.name}.mmd](./${source.name}.mmd)`,
      '',
    );
    parts.push('```mermaid', mermaidByName.get(source.name)?.trimEnd() ?? '', '```', '');
  }
  return parts.join('\n');
}

/** A loaded Graphviz instance is reused: loading the WebAssembly module is the slow part. */
let graphviz: Promise<Graphviz> | undefined;

export async function renderSvg(dot: string): Promise<string> {
  graphviz ??= Graphviz.load();
  return (await graphviz).dot(dot, 'svg');
}

export interface Generated {
  /** Repository-relative path → content. */
  files: Map<string, string>;
  graphs: Map<string, MachineGraph>;
}

/** Everything `npm run visualize` writes, computed in memory. */
export async function generate(repoRoot: string, sources?: readonly MachineSource[]): Promise<Generated> {
  const machines = sources ?? (await loadMachines(repoRoot));
  const files = new Map<string, string>();
  const graphs = new Map<string, MachineGraph>();
  const mermaidByName = new Map<string, string>();
  for (const source of machines) {
    const graph = machineToGraph(source.machine);
    graphs.set(source.name, graph);
    const mermaid = toMermaid(graph, source.sourcePath);
    mermaidByName.set(source.name, mermaid);
    files.set(`${OUTPUT_DIR}/${source.name}.mmd`, mermaid);
    files.set(`${OUTPUT_DIR}/${source.name}.svg`, await renderSvg(toDot(graph, source.sourcePath)));
  }
  files.set(`${OUTPUT_DIR}/README.md`, indexPage(machines, mermaidByName));
  for (const path of MARKDOWN_FILES) {
    const current = await readFile(join(repoRoot, path), 'utf8').catch(() => undefined);
    if (current === undefined) continue;
    const synced = syncMarkdown(current, mermaidByName);
    if (synced !== current) files.set(path, synced);
  }
  return { files, graphs };
}
