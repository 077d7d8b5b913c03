/**
 * Reads the connection statechart (machines/connection-machine.ts) into the table the runner
 * (./connection-runner.ts) follows: per atomic state, every transition that applies in it, with
 * its guards, the actions in XState's order and the atomic state reached. Throws for any part of
 * statecharts the runner does not implement, so that an edit of the machine that brings one in
 * fails at load rather than running wrongly.
 */
import { and, type AnyStateMachine, type AnyStateNode, type AnyTransitionDefinition, type StateValue } from "xstate";
import type { ConnectionState } from "../codec/constants.js";
import type { InputPhase } from "../codec/core/protocol-core.js";
import type { ActionEffects } from "./connection-actions.js";
import { ConnectionTag, type ConnectionMachineContext, type ConnectionMachineEvent } from "./connection-types.js";

type GuardImplementation = (args: { context: ConnectionMachineContext; event: ConnectionMachineEvent }, params: unknown) => boolean;
type ActionImplementation = (args: { context: ConnectionMachineContext; event: ConnectionMachineEvent; effects: ActionEffects }, params: unknown) => void;

export interface GuardCall {
  readonly check: GuardImplementation;
  readonly params: unknown;
}

export interface ActionCall {
  readonly run: ActionImplementation;
  readonly params: unknown;
}

export interface CompiledTransition {
  /** All must hold, checked in order (an XState `and` is flattened into this list). */
  readonly guards: readonly GuardCall[];
  /** Exit actions of the states left, the transition's own actions, entry actions of the states entered. */
  readonly actions: readonly ActionCall[];
  /** The atomic state reached; null for a transition without a target (the state stays). */
  readonly target: CompiledState | null;
}

/** An atomic state of the machine, with every transition that applies in it. */
export interface CompiledState {
  readonly id: string;
  readonly value: StateValue;
  /** The top-level state: what `WSConnection.state` reports. */
  readonly topLevel: ConnectionState;
  /** How this state reads input (the `phase` of its `ws.receive` action), or null when it reads none. */
  readonly inputPhase: InputPhase | null;
  /** The state's tags (connection-machine.ts, ConnectionTag): input parsed as it arrives. */
  readonly parsesOnReceive: boolean;
  /** Messages, pings and pongs are encoded without a lifecycle step. */
  readonly encodesMessages: boolean;
  /** The kinds of event (`SendableName`) some `ws.send` transition of this state takes, when its guards allow. */
  readonly sendKinds: ReadonlySet<string>;
  readonly final: boolean;
  /** Per event type: this state's transitions, then its ancestors', in document order. */
  readonly on: Map<string, CompiledTransition[]>;
  readonly always: CompiledTransition[];
}

export interface CompiledMachine {
  readonly initialState: CompiledState;
  readonly initialActions: readonly ActionCall[];
  readonly byValue: Map<string, CompiledState>;
}

/**
 * The table the runner follows, read from `machine`: its atomic states, each with every
 * transition that applies in it (guards, the actions in XState's order, the atomic state
 * reached). `actions` are the plain functions behind the machine's named actions. Throws for
 * any part of statecharts the runner does not implement.
 */
export function compileMachine(machine: AnyStateMachine, actions: Readonly<Record<string, unknown>>): CompiledMachine {
  const root = machine.root;
  const atomic = new Map<AnyStateNode, CompiledState>();
  const compile = (from: AnyStateNode, transition: AnyTransitionDefinition) => compileTransition(machine, actions, from, transition, atomic);
  checkSupported(machine, root);
  for (const node of descendants(root)) {
    checkSupported(machine, node);
    if (Object.keys(node.states).length > 0) continue;
    atomic.set(node, {
      id: node.id,
      value: stateValue(node.path),
      topLevel: node.path[0] as ConnectionState,
      inputPhase: readPhase(node),
      parsesOnReceive: node.tags.includes(ConnectionTag.parsesOnReceive),
      encodesMessages: node.tags.includes(ConnectionTag.encodesMessages),
      final: node.type === "final",
      sendKinds: new Set(),
      on: new Map(),
      always: [],
    });
  }
  for (const [node, state] of atomic) {
    for (let source: AnyStateNode | undefined = node; source !== undefined; source = source.parent) {
      for (const [eventType, transitions] of source.transitions) {
        let list = state.on.get(eventType);
        if (list === undefined) state.on.set(eventType, (list = []));
        for (const transition of transitions) list.push(compile(node, transition));
      }
      for (const transition of source.always ?? []) state.always.push(compile(node, transition));
    }
    for (const transition of state.on.get("ws.send") ?? []) {
      for (const guard of transition.guards) {
        const kinds = (guard.params as { kinds?: unknown } | undefined)?.kinds;
        if (Array.isArray(kinds)) for (const kind of kinds) (state.sendKinds as Set<string>).add(String(kind));
      }
    }
  }
  const initialActions: ActionCall[] = [];
  const entered = enterPath(machine, actions, root, root, initialActions);
  const initialState = atomic.get(entered)!;
  const byValue = new Map<string, CompiledState>();
  for (const state of atomic.values()) byValue.set(valueKey(state.value), state);
  return { initialState, initialActions, byValue };
}

function* descendants(node: AnyStateNode): Generator<AnyStateNode> {
  for (const child of Object.values(node.states) as AnyStateNode[]) {
    yield child;
    yield* descendants(child);
  }
}

/** Throw at load for anything the runner does not implement, rather than run it wrongly. */
function checkSupported(machine: AnyStateMachine, node: AnyStateNode): void {
  const where = `state ${node.id}`;
  if (node.type === "parallel" || node.type === "history") throw new Error(`${where}: ${node.type} states are not supported by the runner`);
  if (node.type === "final" && node.parent !== machine.root) throw new Error(`${where}: only top-level final states are supported by the runner`);
  if (node.invoke.length > 0) throw new Error(`${where}: invoked actors are not supported by the runner`);
  if (node.after.length > 0) throw new Error(`${where}: delayed transitions are not supported by the runner`);
  for (const eventType of node.transitions.keys()) {
    if (eventType.includes("*")) throw new Error(`${where}: wildcard event descriptors (${eventType}) are not supported by the runner`);
  }
}

function compileTransition(
  machine: AnyStateMachine,
  actionImplementations: Readonly<Record<string, unknown>>,
  from: AnyStateNode,
  transition: AnyTransitionDefinition,
  atomic: Map<AnyStateNode, CompiledState>,
): CompiledTransition {
  const where = `transition ${transition.eventType || "(always)"} of ${transition.source.id}`;
  const guards: GuardCall[] = [];
  if (transition.guard !== undefined) addGuard(machine, guards, transition.guard, where);
  const actions: ActionCall[] = [];
  const targets = transition.target;
  if (targets === undefined || targets.length === 0) {
    addActions(machine, actionImplementations, actions, transition.actions, where);
    return { guards, actions, target: null };
  }
  if (targets.length !== 1) throw new Error(`${where}: several targets are not supported by the runner`);
  const target = targets[0]!;
  const domain = transitionDomain(machine, transition.source, target, transition.reenter);
  // Exit from the atomic state up to the domain, innermost first.
  for (let node: AnyStateNode = from; node !== domain; node = node.parent!) {
    addActions(machine, actionImplementations, actions, node.exit, `state ${node.id}`);
  }
  addActions(machine, actionImplementations, actions, transition.actions, where);
  const reached = enterPath(machine, actionImplementations, domain, target, actions);
  return { guards, actions, target: atomic.get(reached)! };
}

/**
 * XState's transition domain: the source itself when the target lies inside it (and the
 * transition does not re-enter), else the least common compound ancestor of both.
 */
function transitionDomain(machine: AnyStateMachine, source: AnyStateNode, target: AnyStateNode, reenter: boolean): AnyStateNode {
  if (!reenter && (target === source || isDescendant(target, source))) return source;
  for (let ancestor = source.parent; ancestor !== undefined; ancestor = ancestor.parent) {
    if (isDescendant(target, ancestor)) return ancestor;
  }
  return machine.root;
}

function isDescendant(node: AnyStateNode, ancestor: AnyStateNode): boolean {
  for (let parent = node.parent; parent !== undefined; parent = parent.parent) if (parent === ancestor) return true;
  return false;
}

/**
 * Enter `target` from inside `domain`: the entry actions of every state from just below the
 * domain down to the target, then down its initial states to an atomic one, which is returned.
 */
function enterPath(
  machine: AnyStateMachine,
  actionImplementations: Readonly<Record<string, unknown>>,
  domain: AnyStateNode,
  target: AnyStateNode,
  actions: ActionCall[],
): AnyStateNode {
  const chain: AnyStateNode[] = [];
  for (let node: AnyStateNode = target; node !== domain; node = node.parent!) chain.unshift(node);
  let node = target;
  for (;;) {
    if (Object.keys(node.states).length === 0) break;
    const initial = node.initial.target;
    if (initial.length !== 1) throw new Error(`state ${node.id}: needs exactly one initial state`);
    node = initial[0]!;
    chain.push(node);
  }
  for (const entered of chain) addActions(machine, actionImplementations, actions, entered.entry, `state ${entered.id}`);
  return node;
}

const andCheck = (and([]) as unknown as { check: unknown }).check;

function addGuard(machine: AnyStateMachine, guards: GuardCall[], guard: unknown, where: string): void {
  if (typeof guard === "function") {
    const combined = guard as { check?: unknown; guards?: unknown[] };
    if (combined.check !== andCheck || !Array.isArray(combined.guards)) {
      throw new Error(`${where}: only named guards and and([...]) of them are supported by the runner`);
    }
    for (const part of combined.guards) addGuard(machine, guards, part, where);
    return;
  }
  const { type, params } = named(guard, where);
  const check = (machine.implementations.guards as Record<string, unknown>)[type];
  if (typeof check !== "function") throw new Error(`${where}: no guard named ${type}`);
  guards.push({ check: check as GuardImplementation, params });
}

function addActions(
  machine: AnyStateMachine,
  implementations: Readonly<Record<string, unknown>>,
  actions: ActionCall[],
  list: readonly unknown[],
  where: string,
): void {
  for (const action of list) {
    const { type, params } = named(action, where);
    const run = implementations[type];
    if (typeof run !== "function" || !(type in machine.implementations.actions)) {
      throw new Error(`${where}: action ${type} has no plain implementation for the runner beside the actor's`);
    }
    actions.push({ run: run as ActionImplementation, params });
  }
}

/** A guard or action given by name: "name" or { type: "name", params } with static params. */
function named(reference: unknown, where: string): { type: string; params: unknown } {
  if (typeof reference === "string") return { type: reference, params: undefined };
  if (typeof reference === "object" && reference !== null && typeof (reference as { type?: unknown }).type === "string") {
    const { type, params } = reference as { type: string; params?: unknown };
    if (typeof params === "function") throw new Error(`${where}: dynamic params of ${type} are not supported by the runner`);
    return { type, params };
  }
  throw new Error(`${where}: inline guards and actions are not supported by the runner; name them in setup()`);
}

/** The phase of the state's `readInput` action on `ws.receive`, its own or an ancestor's. */
function readPhase(node: AnyStateNode): InputPhase | null {
  for (let source: AnyStateNode | undefined = node; source !== undefined; source = source.parent) {
    for (const transition of source.transitions.get("ws.receive") ?? []) {
      for (const action of transition.actions) {
        if (typeof action === "object" && action !== null && (action as { type?: unknown }).type === "readInput") {
          return ((action as { params: { phase: InputPhase } }).params).phase;
        }
      }
    }
  }
  return null;
}

function stateValue(path: readonly string[]): StateValue {
  let value: StateValue = path[path.length - 1]!;
  for (let index = path.length - 2; index >= 0; index--) value = { [path[index]!]: value };
  return value;
}

export function valueKey(value: StateValue): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

