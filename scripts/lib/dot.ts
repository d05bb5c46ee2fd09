/**
 * Writes a machine graph as Graphviz DOT, with the same conventions as the Mermaid writer plus styling that
 * Mermaid state diagrams cannot express: `always` edges dashed blue, delayed (`after`) edges bold orange,
 * final states double-bordered.
 */
import { edgeLabel, type GraphEdge, type GraphNode, type MachineGraph } from './machine-graph.js';

// Graphviz sizes boxes with its own metrics for the names it knows; a font list would fall back to Times metrics.
const FONT = 'Helvetica';

const EDGE_STYLE: Record<GraphEdge['kind'], string> = {
  event: 'color="#24292f", fontcolor="#24292f"',
  always: 'style=dashed, color="#0969da", fontcolor="#0969da"',
  after: 'style=bold, color="#bc4c00", fontcolor="#bc4c00"',
};

function html(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

function quoted(value: string): string {
  return `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

function internalLines(node: GraphNode): string[] {
  return [
    ...node.entry.map((action) => `entry / ${action}`),
    ...node.exit.map((action) => `exit / ${action}`),
    ...node.edges.filter((edge) => edge.targets.length === 0).map(edgeLabel),
  ];
}

/** A state box: its name in bold, then (under a rule) entry/exit actions and internal transitions. */
function boxLabel(title: string, lines: readonly string[]): string {
  const rows = [`<TR><TD><B>${html(title)}</B></TD></TR>`];
  if (lines.length > 0) {
    rows.push('<HR/>');
    for (const line of lines) rows.push(`<TR><TD ALIGN="LEFT">${html(line)}</TD></TR>`);
  }
  return `<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3">${rows.join('')}</TABLE>>`;
}

function nodeStatement(node: GraphNode, indent: string): string[] {
  const shape =
    node.type === 'final'
      ? 'shape=box, style="rounded,filled", peripheries=2'
      : 'shape=box, style="rounded,filled"';
  return [`${indent}${node.id} [${shape}, label=${boxLabel(node.name, internalLines(node))}];`];
}

function edgeStatements(source: string, edges: readonly GraphEdge[], indent: string): string[] {
  return edges.flatMap((edge) =>
    edge.targets.map(
      (target) =>
        `${indent}${source} -> ${target} [label=${quoted(` ${edgeLabel(edge)} `)}, ${EDGE_STYLE[edge.kind]}];`,
    ),
  );
}

/** Children of a compound state; nested compound states become clusters anchored by a box of their own. */
function bodyStatements(parent: GraphNode, indent: string): string[] {
  const lines: string[] = [];
  if (parent.initial) {
    lines.push(`${indent}${parent.id}__initial [shape=point, width=0.15, label=""];`);
    lines.push(`${indent}${parent.id}__initial -> ${parent.initial};`);
  }
  for (const child of parent.children) {
    if (child.children.length === 0) {
      lines.push(...nodeStatement(child, indent));
    } else {
      lines.push(`${indent}subgraph cluster_${child.id} {`);
      lines.push(`${indent}  label=${quoted(child.name)}; style="rounded,dashed";`);
      lines.push(...nodeStatement(child, `${indent}  `));
      lines.push(...bodyStatements(child, `${indent}  `));
      lines.push(`${indent}}`);
    }
  }
  for (const child of parent.children) lines.push(...edgeStatements(child.id, child.edges, indent));
  return lines;
}

export function toDot(graph: MachineGraph, sourcePath: string): string {
  const { root } = graph;
  const lines = [
    `digraph ${quoted(graph.machineId)} {`,
    `  graph [label=${quoted(`${graph.machineId} (${sourcePath})`)}, labelloc=t, fontname=${quoted(FONT)}, fontsize=16, rankdir=TB, nodesep=0.5, ranksep=0.6, bgcolor="white"];`,
    `  node [fontname=${quoted(FONT)}, fontsize=12, fillcolor="#f6f8fa", color="#57606a"];`,
    `  edge [fontname=${quoted(FONT)}, fontsize=10];`,
  ];
  if (root.children.length === 0) {
    lines.push(`  ${root.id}__initial [shape=point, width=0.15, label=""];`);
    lines.push(`  ${root.id}__initial -> ${root.id};`);
    lines.push(...nodeStatement(root, '  '));
    lines.push(...edgeStatements(root.id, root.edges, '  '));
  } else {
    lines.push(...bodyStatements(root, '  '));
    const rootLines = internalLines(root);
    if (root.edges.length > 0 || rootLines.length > 0) {
      const any = `${root.id}__any_state`;
      lines.push(`  ${any} [shape=box, style="rounded,dashed", label=${boxLabel('any state', rootLines)}];`);
      lines.push(...edgeStatements(any, root.edges, '  '));
    }
  }
  if (graph.spawns.length > 0) {
    lines.push(
      `  spawns [shape=note, fillcolor="#fff8c5", style=filled, label=${quoted(`spawns: ${graph.spawns.join(', ')}`)}];`,
    );
    lines.push(
      `  ${root.children.length === 0 ? root.id : (root.initial ?? root.id)} -> spawns [style=dotted, arrowhead=none];`,
    );
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
