/**
 * Turns an XState machine definition into a small, renderer-neutral graph: states (nested), transitions with
 * their kind (event, `always`, delayed), guards and action names. The Mermaid and DOT writers both read this
 * model, so the two diagrams of a machine always agree with each other and with the code.
 */
import type { AnyStateMachine, AnyStateNode } from 'xstate';

/** How a transition is triggered. */
export type EdgeKind = 'event' | 'always' | 'after';

/** One transition; `target` undefined means targetless (internal: runs actions, stays put). */
export interface GraphEdge {
  kind: EdgeKind;
  /** Event type, delay name (`after`), or `always`. */
  trigger: string;
  guard: string | undefined;
  actions: readonly string[];
  /** Node ids of the targets; one edge is drawn per target. */
  targets: readonly string[];
  /** Exits and re-enters its own state (restarting its timers and entry actions). */
  reenter: boolean;
  /** 1-based priority among the candidates for the same trigger, when there is more than one. */
  order: number | undefined;
}

export interface GraphNode {
  /** Unique, identifier-safe id (the state path joined with `__`; the machine id for the root). */
  id: string;
  /** Display name: the state key, or the machine id for the root. */
  name: string;
  type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  /** Id of the initial child, for compound states. */
  initial: string | undefined;
  entry: readonly string[];
  exit: readonly string[];
  edges: readonly GraphEdge[];
  children: readonly GraphNode[];
}

export interface MachineGraph {
  machineId: string;
  root: GraphNode;
  /** Names of the actor logic the machine can invoke or spawn (`setup({ actors })`). */
  spawns: readonly string[];
}

type Named = { type?: unknown; name?: unknown };

/** Names an arrow function takes from the property it was written in: it has no name of its own. */
const INLINE_NAMES = new Set(['guard', 'actions', 'entry', 'exit', 'anonymous']);

/** The name of an action, guard or delay as a reader knows it: its `type`, a string, or `inline`. */
function nameOf(item: unknown): string {
  if (typeof item === 'string') return item;
  if (item && (typeof item === 'object' || typeof item === 'function')) {
    const { type, name } = item as Named;
    if (typeof type === 'string') return type.startsWith('xstate.') ? type.slice('xstate.'.length) : type;
    if (typeof name === 'string' && name.length > 0 && !INLINE_NAMES.has(name)) return name;
  }
  return 'inline';
}

/** The `raise` and `cancel` XState adds itself to schedule and clear an `after` timer are implementation noise. */
function isTimerBookkeeping(action: unknown): boolean {
  if (typeof action !== 'function') return false;
  const { type, id, sendId } = action as Named & { id?: unknown; sendId?: unknown };
  const key = type === 'xstate.raise' ? id : type === 'xstate.cancel' ? sendId : undefined;
  return typeof key === 'string' && key.startsWith('xstate.after.');
}

function actionNames(actions: readonly unknown[] | undefined): string[] {
  return (actions ?? []).filter((action) => !isTimerBookkeeping(action)).map(nameOf);
}

export function nodeIdOf(node: AnyStateNode): string {
  const id = node.path.length === 0 ? node.machine.id : node.path.join('__');
  return id.replace(/[^A-Za-z0-9_]/g, '_');
}

interface TransitionLike {
  target?: readonly AnyStateNode[] | undefined;
  guard?: unknown;
  actions?: readonly unknown[];
  reenter?: boolean;
}

function toEdges(kind: EdgeKind, trigger: string, transitions: readonly TransitionLike[]): GraphEdge[] {
  return transitions.map((transition, index) => ({
    kind,
    trigger,
    guard: transition.guard === undefined ? undefined : nameOf(transition.guard),
    actions: actionNames(transition.actions),
    targets: (transition.target ?? []).map(nodeIdOf),
    reenter: transition.reenter === true,
    order: transitions.length > 1 ? index + 1 : undefined,
  }));
}

function delayLabel(delay: unknown): string {
  return typeof delay === 'number' ? `${delay}ms` : nameOf(delay);
}

function toNode(node: AnyStateNode): GraphNode {
  // Delayed transitions also appear in `transitions` under a generated event type; draw them by delay name.
  const delayed = new Map<string, { label: string; transitions: TransitionLike[] }>();
  for (const transition of node.after) {
    const entry = delayed.get(transition.eventType);
    if (entry) entry.transitions.push(transition);
    else
      delayed.set(transition.eventType, { label: delayLabel(transition.delay), transitions: [transition] });
  }
  const edges: GraphEdge[] = [];
  for (const [eventType, transitions] of node.transitions) {
    const after = delayed.get(eventType);
    edges.push(
      ...(after
        ? toEdges('after', after.label, after.transitions)
        : toEdges('event', eventType, transitions)),
    );
  }
  edges.push(...toEdges('always', 'always', node.always ?? []));
  const children = Object.values(node.states as Record<string, AnyStateNode>).map(toNode);
  return {
    id: nodeIdOf(node),
    name: node.path.length === 0 ? node.machine.id : node.key,
    type: node.type,
    initial: node.initial?.target[0] ? nodeIdOf(node.initial.target[0]) : undefined,
    entry: actionNames(node.entry),
    exit: actionNames(node.exit),
    edges,
    children,
  };
}

/** Reads a machine definition (no actor is created). */
export function machineToGraph(machine: AnyStateMachine): MachineGraph {
  const actors = (machine.implementations as { actors?: Record<string, unknown> }).actors ?? {};
  return { machineId: machine.id, root: toNode(machine.root), spawns: Object.keys(actors) };
}

/** `event [guard] / a, b` — the label UML and the Stately editor use. */
export function edgeLabel(edge: GraphEdge): string {
  const trigger = edge.kind === 'after' ? `after ${edge.trigger}` : edge.trigger;
  const order = edge.order === undefined ? '' : ` (${edge.order})`;
  const guard = edge.guard === undefined ? '' : ` [${edge.guard}]`;
  const actions = edge.actions.length === 0 ? '' : ` / ${edge.actions.join(', ')}`;
  const reenter = edge.reenter ? ' (re-enter)' : '';
  return `${trigger}${order}${guard}${actions}${reenter}`;
}

/** Every node, depth first, parents before children. */
export function allNodes(root: GraphNode): GraphNode[] {
  return [root, ...root.children.flatMap(allNodes)];
}
