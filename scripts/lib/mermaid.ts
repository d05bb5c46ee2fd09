/**
 * Writes a machine graph as a Mermaid `stateDiagram-v2`, the dialect GitHub renders in Markdown.
 *
 * Conventions: targetless transitions are internal (UML style) and listed inside their state; transitions on the
 * machine root apply in every state and start from a dashed "any state" node; `always` and `after` edges say so
 * in their label.
 */
import { edgeLabel, type GraphEdge, type GraphNode, type MachineGraph } from './machine-graph.js';

/** Mermaid treats `#` and `;` as syntax inside labels; its entity codes keep them literal. */
function text(value: string): string {
  return value.replace(/[#;]/g, (char) => (char === '#' ? '#35;' : '#59;'));
}

export function anyStateId(root: GraphNode): string {
  return `${root.id}__any_state`;
}

function internalLines(node: GraphNode): string[] {
  return [
    ...node.entry.map((action) => `entry / ${action}`),
    ...node.exit.map((action) => `exit / ${action}`),
    ...node.edges.filter((edge) => edge.targets.length === 0).map(edgeLabel),
  ];
}

function edgeLines(source: string, edges: readonly GraphEdge[], indent: string): string[] {
  return edges.flatMap((edge) =>
    edge.targets.map((target) => `${indent}${source} --> ${target} : ${text(edgeLabel(edge))}`),
  );
}

function nodeLines(node: GraphNode, indent: string): string[] {
  const lines: string[] = [];
  if (node.children.length > 0) {
    lines.push(`${indent}state "${text(node.name)}" as ${node.id} {`);
    lines.push(...childLines(node, `${indent}  `));
    lines.push(`${indent}}`);
  } else {
    lines.push(`${indent}state "${text(node.name)}" as ${node.id}`);
  }
  for (const line of internalLines(node)) lines.push(`${indent}${node.id} : ${text(line)}`);
  return lines;
}

/** The body of a compound state: its children, its initial marker, their transitions and final markers. */
function childLines(parent: GraphNode, indent: string): string[] {
  const lines: string[] = [];
  if (parent.initial) lines.push(`${indent}[*] --> ${parent.initial}`);
  for (const child of parent.children) lines.push(...nodeLines(child, indent));
  for (const child of parent.children) lines.push(...edgeLines(child.id, child.edges, indent));
  for (const child of parent.children) {
    if (child.type === 'final') lines.push(`${indent}${child.id} --> [*]`);
  }
  return lines;
}

export function toMermaid(graph: MachineGraph, sourcePath: string): string {
  const { root } = graph;
  const lines = ['---', `title: ${graph.machineId} (${sourcePath})`, '---', 'stateDiagram-v2'];
  if (root.children.length === 0) {
    // A single-state machine (the shard and pool supervisors): one box listing what it reacts to.
    lines.push(`  [*] --> ${root.id}`);
    lines.push(...nodeLines(root, '  '));
    lines.push(...edgeLines(root.id, root.edges, '  '));
  } else {
    lines.push(...childLines(root, '  '));
    const rootLines = internalLines(root);
    if (root.edges.length > 0 || rootLines.length > 0) {
      const any = anyStateId(root);
      lines.push(`  state "any state" as ${any}`);
      for (const line of rootLines) lines.push(`  ${any} : ${text(line)}`);
      lines.push(...edgeLines(any, root.edges, '  '));
      lines.push('  classDef anyState stroke-dasharray: 5 5, fill: none');
      lines.push(`  class ${any} anyState`);
    }
  }
  if (graph.spawns.length > 0) {
    const anchor = root.children.length === 0 ? root.id : (root.initial ?? root.id);
    lines.push(`  note left of ${anchor}`);
    lines.push(`    spawns: ${graph.spawns.join(', ')}`);
    lines.push('  end note');
  }
  return `${lines.join('\n')}\n`;
}
