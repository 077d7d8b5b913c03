/**
 * Runs the connection statechart of machines/connection-machine.ts without an XState actor.
 *
 * Why: here an actor costs about 27 µs to create and start, 2.5–5 µs per event and 3.5 KiB of
 * heap for as long as the connection lives. A complete opening handshake between two
 * `WSConnection`s takes two actors and four lifecycle events — about 100 µs, where the
 * handshake's own protocol work (parsing, SHA-1, serialising) takes about 10 µs — and an idle
 * server holding 10,000 connections would hold 35 MB of actors that nobody looks at.
 *
 * The runner is not a second copy of the lifecycle. It reads the machine itself — its state
 * nodes, transitions, guards (`connectionMachine.implementations.guards`) and actions (the
 * `connectionActions` the actor also runs) — once, at load, into a table per atomic state, and
 * follows XState v5's rules for the part of statecharts the machine uses: compound and final
 * states, initial states, guarded and eventless transitions (`always`), `and` guards, entry and
 * exit actions, transition actions, `raise` and `assign`; exits, transition actions, entries, in
 * that order; deeper states' transitions before their ancestors'; eventless transitions before
 * raised events. Whatever else a future edit of the machine brings in (parallel or history
 * states, delays, invoked actors, dynamic parameters, inline functions) makes this module throw
 * when it loads, and a property test runs runner and actor side by side over generated event
 * sequences and requires the same states, contexts and outputs.
 *
 * `WSConnection` drives a runner until something asks for its actor (`ws.actor`), or from the
 * start when it was given `inspect` or `snapshot`; it then starts an actor in the runner's state,
 * sharing its `ProtocolCore`, and the actor owns the lifecycle from there on.
 */
import { and, type AnyStateMachine, type AnyStateNode, type AnyTransitionDefinition, type StateValue } from "xstate";
import { ConnectionState } from "../codec/constants.js";
import {
  ConnectionTag,
  connectionActions,
  connectionMachine,
  type ActionEffects,
  type ConnectionMachineContext,
  type ConnectionMachineEmitted,
  type ConnectionMachineEvent,
  type ConnectionMachineInput,
} from "./connection-machine.js";
import type { InputPhase, PeerEvent } from "../codec/core/protocol-core.js";

type GuardImplementation = (args: { context: ConnectionMachineContext; event: ConnectionMachineEvent }, params: unknown) => boolean;
type ActionImplementation = (args: { context: ConnectionMachineContext; event: ConnectionMachineEvent; effects: ActionEffects }, params: unknown) => void;

interface GuardCall {
  readonly check: GuardImplementation;
  readonly params: unknown;
}

interface ActionCall {
  readonly run: ActionImplementation;
  readonly params: unknown;
}

interface CompiledTransition {
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

/** Where the runner's output goes: the same three kinds of event the actor emits. */
export type RunnerListener = (emitted: ConnectionMachineEmitted) => void;

/**
 * One connection's lifecycle, run from the compiled machine. It is its actions' `ActionEffects`
 * itself (no closures per connection: an idle server holds thousands of these). An event an
 * action raises is queued and taken before `send` returns, as in an actor's macrostep.
 */
export class ConnectionRunner implements ActionEffects {
  private current: CompiledState;
  private contextValue: ConnectionMachineContext;
  private raised: PeerEvent[] | null = null;

  constructor(
    input: ConnectionMachineInput,
    private readonly listener: RunnerListener,
  ) {
    // The machine's own context factory: the runner and the actor start from the same context.
    this.contextValue = createContext(input);
    this.current = compiled.initialState;
    const initEvent = { type: "xstate.init", input } as unknown as ConnectionMachineEvent;
    this.runActions(compiled.initialActions, initEvent);
    this.settle(initEvent);
  }

  /** The atomic state the connection is in. */
  get state(): CompiledState {
    return this.current;
  }

  get context(): ConnectionMachineContext {
    return this.contextValue;
  }

  /** The machine has reached its final state and takes no more events (an actor's status "done"). */
  get done(): boolean {
    return this.current.final;
  }

  /**
   * Take one event, as `actor.send` would, with every transition it causes. Returns whether a
   * transition took it (false: the state ignores it, as an actor does).
   */
  send(event: ConnectionMachineEvent): boolean {
    if (this.current.final) return false;
    const taken = this.take(event, this.current.on.get(event.type));
    this.settle(event);
    return taken;
  }

  // ActionEffects, for the actions.
  emit(emitted: ConnectionMachineEmitted): void {
    this.listener(emitted);
  }

  raise(event: PeerEvent): void {
    (this.raised ??= []).push(event);
  }

  assign(patch: Partial<Pick<ConnectionMachineContext, "closeCode" | "failure">>): void {
    this.contextValue = { ...this.contextValue, ...patch };
  }

  /** Eventless transitions, then raised events, until neither applies (XState's macrostep). */
  private settle(event: ConnectionMachineEvent): void {
    let last = event;
    for (;;) {
      if (this.current.final) {
        this.raised = null;
        return;
      }
      if (this.current.always.length > 0 && this.take(last, this.current.always)) continue;
      const next = this.raised?.shift();
      if (next === undefined) return;
      last = next;
      this.take(next, this.current.on.get(next.type));
    }
  }

  /** The first enabled transition of `candidates`, taken; false when none is enabled. */
  private take(event: ConnectionMachineEvent, candidates: readonly CompiledTransition[] | undefined): boolean {
    if (candidates === undefined) return false;
    for (let index = 0; index < candidates.length; index++) {
      const transition = candidates[index]!;
      if (!this.enabled(transition, event)) continue;
      // Actions see the state being left until the transition is done, as an actor's do.
      this.runActions(transition.actions, event);
      if (transition.target !== null) this.current = transition.target;
      return true;
    }
    return false;
  }

  private enabled(transition: CompiledTransition, event: ConnectionMachineEvent): boolean {
    const guards = transition.guards;
    for (let index = 0; index < guards.length; index++) {
      const guard = guards[index]!;
      if (!guard.check({ context: this.contextValue, event }, guard.params)) return false;
    }
    return true;
  }

  private runActions(actions: readonly ActionCall[], event: ConnectionMachineEvent): void {
    for (let index = 0; index < actions.length; index++) {
      const action = actions[index]!;
      action.run({ context: this.contextValue, event, effects: this }, action.params);
    }
  }
}

/** The compiled state an actor snapshot's value names (for a `WSConnection` that runs an actor). */
export function compiledState(value: StateValue): CompiledState {
  const state = compiled.byValue.get(valueKey(value));
  if (state === undefined) throw new Error(`the connection machine has no atomic state ${JSON.stringify(value)}`);
  return state;
}

// ---------------------------------------------------------------------------------------------
// Compilation, once per process.

function createContext(input: ConnectionMachineInput): ConnectionMachineContext {
  const factory = connectionMachine.config.context;
  if (typeof factory !== "function") throw new Error("the connection machine's context must come from a factory of its input");
  return (factory as (args: { input: ConnectionMachineInput }) => ConnectionMachineContext)({ input });
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

function valueKey(value: StateValue): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

// Last, so that every helper above is initialised.
const compiled: CompiledMachine = compileMachine(connectionMachine, connectionActions);
