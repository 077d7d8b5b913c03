/**
 * The statechart as plain data, read from the machine definition itself (its `root` state node,
 * the nodes' `transitions` and `always` lists): states with their children, and transitions
 * with their event, guard and actions as readable labels. Both the offline inspector's chart
 * and the Mermaid diagram (`npm run diagram`) are drawn from this, so neither can drift from
 * machines/connection-machine.ts.
 *
 * Nothing here is specific to the connection machine: any XState v5 machine can be walked.
 */
import type { AnyStateMachine, AnyStateNode } from "xstate";

export interface ChartNode {
  /** The state's path joined with dots ("CONNECTING.awaitingRequest"); "" for the root. */
  readonly id: string;
  /** The state's own key ("awaitingRequest"); the machine id for the root. */
  readonly key: string;
  readonly type: "atomic" | "compound" | "parallel" | "final" | "history";
  /** The id of the initial child of a compound state, else null. */
  readonly initial: string | null;
  readonly children: readonly ChartNode[];
  /** Entry action labels, e.g. "drain(open)". */
  readonly entry: readonly string[];
}

export interface ChartTransition {
  /** The id of the state that handles the event. */
  readonly source: string;
  /** The ids of the target states; empty for a transition that only runs actions. */
  readonly targets: readonly string[];
  /** The event type; "" for an eventless (`always`) transition. */
  readonly event: string;
  /** The event as a person reads it: "ws.send", "always", "after 500". */
  readonly eventLabel: string;
  /** The guard as written, e.g. "canSend(Request)" or "rejectionHasBody and canSend(RejectConnection)". */
  readonly guard: string | null;
  readonly actions: readonly string[];
}

export interface StatechartGraph {
  readonly machineId: string;
  readonly root: ChartNode;
  /** Every transition, in the order XState evaluates them within each state (document order). */
  readonly transitions: readonly ChartTransition[];
}

/** Walk `machine.root` into a `StatechartGraph`. */
export function statechartGraph(machine: AnyStateMachine): StatechartGraph {
  const transitions: ChartTransition[] = [];
  const root = walk(machine.root, transitions);
  return { machineId: machine.id, root, transitions };
}

/** Every node of the tree, parents before children, in document order. */
export function allNodes(graph: StatechartGraph): ChartNode[] {
  const nodes: ChartNode[] = [];
  const visit = (node: ChartNode): void => {
    nodes.push(node);
    for (const child of node.children) visit(child);
  };
  visit(graph.root);
  return nodes;
}

function nodeId(node: AnyStateNode): string {
  return node.path.join(".");
}

function walk(node: AnyStateNode, transitions: ChartTransition[]): ChartNode {
  const id = nodeId(node);
  // `transitions` holds the `on` handlers (delayed ones too) in definition order; `always` the eventless ones.
  for (const [event, list] of node.transitions) {
    for (const transition of list) transitions.push(describeTransition(id, event, transition));
  }
  for (const transition of node.always ?? []) transitions.push(describeTransition(id, "", transition));
  const children = Object.values(node.states as Record<string, AnyStateNode>).map((child) => walk(child, transitions));
  const initialTarget = node.type === "compound" ? node.initial?.target?.[0] : undefined;
  return {
    id,
    key: node.key,
    type: node.type,
    initial: initialTarget === undefined ? null : nodeId(initialTarget),
    children,
    entry: (node.entry as readonly unknown[]).map(actionLabel),
  };
}

interface TransitionLike {
  readonly target?: readonly AnyStateNode[] | undefined;
  readonly guard?: unknown;
  readonly actions?: readonly unknown[];
}

function describeTransition(source: string, event: string, transition: TransitionLike): ChartTransition {
  return {
    source,
    targets: (transition.target ?? []).map(nodeId),
    event,
    eventLabel: eventLabel(event),
    guard: transition.guard === undefined ? null : guardLabel(transition.guard),
    actions: (transition.actions ?? []).map(actionLabel),
  };
}

function eventLabel(event: string): string {
  if (event === "") return "always";
  // XState names delayed transitions "xstate.after.<delay>.<state id>".
  const after = /^xstate\.after\.([^.]+)\./.exec(event);
  if (after !== null) return `after ${after[1]}`;
  if (event.startsWith("xstate.done.state.")) return "done";
  if (event.startsWith("xstate.done.actor.")) return `done ${event.slice("xstate.done.actor.".length)}`;
  if (event.startsWith("xstate.error.actor.")) return `error ${event.slice("xstate.error.actor.".length)}`;
  return event;
}

/** "name", "name(param values)" for parameterized references, "a and b" for XState's guard combinators. */
function guardLabel(guard: unknown): string {
  if (typeof guard === "function") {
    // xstate's and() / or() / not() return functions named after themselves, carrying `guards`.
    const combined = (guard as { guards?: unknown }).guards;
    const name = guard.name;
    if (Array.isArray(combined)) {
      const parts = combined.map(guardLabel);
      if (name === "not") return `not ${parts.join("")}`;
      return parts.join(name === "or" ? " or " : " and ");
    }
    return name === "" ? "inline guard" : name;
  }
  return referenceLabel(guard, "inline guard");
}

function actionLabel(action: unknown): string {
  if (typeof action === "function") {
    // Built-in actions (assign, raise, emit, sendTo, …) are functions with a `type` such as "xstate.assign".
    const type = (action as { type?: unknown }).type;
    if (typeof type === "string") return type.replace(/^xstate\./, "");
    return action.name === "" ? "inline action" : action.name;
  }
  return referenceLabel(action, "inline action");
}

function referenceLabel(reference: unknown, fallback: string): string {
  if (typeof reference === "string") return reference;
  if (typeof reference === "object" && reference !== null) {
    const { type, params } = reference as { type?: unknown; params?: unknown };
    if (typeof type !== "string") return fallback;
    if (params === undefined || typeof params === "function") return type;
    return `${type}(${paramsLabel(params)})`;
  }
  return fallback;
}

/** Parameter values, flattened: `{ kinds: ["Message", "Ping"] }` reads "Message, Ping". */
function paramsLabel(params: unknown): string {
  if (Array.isArray(params)) return params.map(paramsLabel).join(", ");
  if (typeof params === "object" && params !== null) {
    const entries = Object.entries(params);
    if (entries.length === 1) return paramsLabel(entries[0]![1]);
    return entries.map(([key, value]) => `${key}: ${paramsLabel(value)}`).join(", ");
  }
  return String(params);
}
