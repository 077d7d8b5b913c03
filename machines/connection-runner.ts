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
 * `connectionActions` the actor also runs) — once, at load, into a table per atomic state
 * (./connection-compiler.ts), and follows XState v5's rules for the part of statecharts the machine uses: compound and final
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
import type { StateValue } from "xstate";
import { compileMachine, valueKey, type ActionCall, type CompiledMachine, type CompiledState, type CompiledTransition } from "./connection-compiler.js";
import {
  connectionActions,
  connectionMachine,
  type ActionEffects,
  type ConnectionMachineContext,
  type ConnectionMachineEmitted,
  type ConnectionMachineEvent,
  type ConnectionMachineInput,
} from "./connection-machine.js";
import type { PeerEvent } from "../codec/core/protocol-core.js";

export { compileMachine, type CompiledMachine, type CompiledState } from "./connection-compiler.js";

/**
 * The method by which an object that owns a runner takes its output. A symbol, so that the owner
 * (the WSConnection facade) has no such name on its public API, and a method, so that the owner
 * passes itself rather than a closure of its own per connection (bench:e2e R1).
 */
export const RUNNER_EMITTED: unique symbol = Symbol("wsmachine.runnerEmitted");

/** Where the runner's output goes (the same three kinds of event the actor emits): a function, or an owner. */
export type RunnerListener = ((emitted: ConnectionMachineEmitted) => void) | { [RUNNER_EMITTED](emitted: ConnectionMachineEmitted): void };

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
    const listener = this.listener;
    if (typeof listener === "function") listener(emitted);
    else listener[RUNNER_EMITTED](emitted);
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

function createContext(input: ConnectionMachineInput): ConnectionMachineContext {
  const factory = connectionMachine.config.context;
  if (typeof factory !== "function") throw new Error("the connection machine's context must come from a factory of its input");
  return (factory as (args: { input: ConnectionMachineInput }) => ConnectionMachineContext)({ input });
}

const compiled: CompiledMachine = compileMachine(connectionMachine, connectionActions);
