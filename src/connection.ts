/**
 * The wsproto-style facade over the connection statechart: `WSConnection` (handshake and
 * frames) and `Connection` (frames only). The README shows them in use, and says when the state
 * changes (README, "When the state changes"): during the handshake `receiveData` parses at once;
 * from OPEN on `events()` parses, lazily; `send` changes the state before it returns the bytes.
 *
 * Per-message work does not go through the statechart: in OPEN, `send` encodes messages and
 * `events()` decodes frames with the codec directly. The statechart is handed only lifecycle
 * events, and its state is the only record of where the connection is. It is run by a
 * `ConnectionRunner` (machines/connection-runner.ts: the same machine, without an actor's cost)
 * until `actor` is first read, and by an XState actor from then on — from the start when
 * `inspect` or `snapshot` is given.
 */
import { createActor, type Actor } from "xstate";
import { connectionMachine, type ConnectionMachineEmitted, type ConnectionMachineEvent } from "../machines/connection-machine.js";
import { compiledState, ConnectionRunner, RUNNER_EMITTED, type CompiledState } from "../machines/connection-runner.js";
import { refusalIn, restoreConnection } from "../machines/connection-snapshot.js";
import { readInput, type InputDriver } from "../machines/connection-input.js";
import type { ProtocolCore, StepResult } from "../codec/core/protocol-core.js";
import type { Headers } from "../codec/events.js";
import { ConnectionState, ConnectionType } from "../codec/constants.js";
import { LocalProtocolError, RemoteProtocolError } from "../codec/errors.js";
import { Event, Message, Ping, Pong, describeValue, type WebSocketEvent } from "../codec/events.js";
import { concatBytes } from "../codec/bytes.js";
import { EventIterator } from "./event-iterator.js";
import { recorded, startEntry, stateName, type TraceRecorder } from "./trace/entries.js";
import { machineInput, type ConnectionOptions, type FramesOnlyOptions } from "./connection-options.js";

export type { ConnectionOptions, FramesOnlyOptions } from "./connection-options.js";

type ConnectionActor = Actor<typeof connectionMachine>;

abstract class ConnectionEndpoint {
  protected readonly core: ProtocolCore;
  /**
   * Runs the statechart until an actor is asked for (see machines/connection-runner.ts); null
   * once the actor runs it.
   */
  private runner: ConnectionRunner | null = null;
  private actorRef: ConnectionActor | null = null;
  /** The statechart's current atomic state: top-level state and how it reads input. */
  protected lifecycle: CompiledState;
  /**
   * Events produced during `receiveData` (the handshake), not yet handed out by `events()`: made
   * when the first is, dropped once all were handed out (null for almost every open connection).
   */
  private produced: WebSocketEvent[] | null = null;
  private producedIndex = 0;
  /** What `readInput` is reading for: the handshake (`receiveData`) or `events()`; and what it found. */
  private readsHandshake = false;
  private readError: RemoteProtocolError | null = null;
  /** What `events()` returned last, handed out again once ended (./event-iterator.ts). */
  private eventIterator: EventIterator<WebSocketEvent> | null = null;
  /** Collects the statechart's `ws.output` while a lifecycle `send` runs (null otherwise). */
  private output: Uint8Array[] | null = null;
  /** A held response found invalid when the Request was sent (readHeldResponse). */
  private heldResponseError: RemoteProtocolError | null = null;
  protected readonly recorder: TraceRecorder | null;
  private namedState: CompiledState | null = null;
  private stateNameCache = "";

  protected constructor(type: ConnectionType, options: ConnectionOptions, framesOnly?: FramesOnlyOptions) {
    if (type !== ConnectionType.CLIENT && type !== ConnectionType.SERVER) {
      throw new LocalProtocolError(`connection type must be "client" or "server", not ${String(type)}`);
    }
    const input = machineInput(type, options, framesOnly);
    if (options.inspect !== undefined || options.snapshot !== undefined) {
      // Inspection must see the whole life, and a persisted snapshot is restored by the actor:
      // both need the actor from the start.
      const snapshot = options.snapshot === undefined ? undefined : restoreConnection(options.snapshot, input);
      const actor = this.startActor(createActor(connectionMachine, { input, inspect: options.inspect, snapshot }));
      this.core = actor.getSnapshot().context.core;
      this.lifecycle = compiledState(actor.getSnapshot().value);
    } else {
      const runner = new ConnectionRunner(input, this);
      this.runner = runner;
      this.core = runner.context.core;
      this.lifecycle = runner.state;
    }
    this.recorder = options.record ?? null;
    if (this.recorder !== null) {
      this.recorder(startEntry(type, this.core, options.maxHandshakeHeadSize, framesOnly !== undefined, options.snapshot !== undefined, this.stateName));
    }
  }

  /** The statechart's state as a dotted path, for the recorder (worked out once per state reached). */
  protected get stateName(): string {
    const lifecycle = this.lifecycle;
    if (this.namedState !== lifecycle) {
      this.namedState = lifecycle;
      this.stateNameCache = stateName(lifecycle.value);
    }
    return this.stateNameCache;
  }

  /**
   * The XState actor running this connection's statechart: subscribe to it, embed it, persist
   * it. It is started on first use, in the state the connection is in, and from then on every
   * lifecycle change goes through it (pass `inspect` to have it from the very start).
   */
  get actor(): ConnectionActor {
    if (this.actorRef !== null) return this.actorRef;
    const runner = this.runner!;
    // The actor starts in the runner's state with the runner's context, its core included.
    const snapshot = connectionMachine.resolveState({ value: runner.state.value, context: runner.context });
    this.runner = null;
    return this.startActor(createActor(connectionMachine, { input: { type: this.core.role }, snapshot }));
  }

  private startActor(actor: ConnectionActor): ConnectionActor {
    this.actorRef = actor;
    actor.subscribe((snapshot) => {
      this.lifecycle = compiledState(snapshot.value);
      if (this.lifecycle.topLevel === ConnectionState.CLOSED) this.core.releaseInput();
    });
    actor.on("ws.output", (emitted) => this[RUNNER_EMITTED](emitted));
    actor.start();
    return actor;
  }

  /**
   * The bytes the statechart writes while `send` runs (the facade reads input itself: no
   * `ws.event`). The runner calls it as a method (machines/connection-runner.ts): no closure per connection.
   */
  [RUNNER_EMITTED](emitted: ConnectionMachineEmitted): void {
    if (emitted.type === "ws.output") (this.output ??= []).push(emitted.data);
  }

  /** Hand a lifecycle event to the statechart; false when its state does not take it. */
  private lifecycleSend(event: ConnectionMachineEvent): boolean {
    const runner = this.runner;
    if (runner !== null) {
      const taken = runner.send(event);
      this.lifecycle = runner.state;
      // Nothing more will be read: what is held for unread frames goes (and its memory budget).
      if (this.lifecycle.topLevel === ConnectionState.CLOSED) this.core.releaseInput();
      return taken;
    }
    const actor = this.actorRef!;
    if (!actor.getSnapshot().can(event)) return false;
    actor.send(event);
    const snapshot = actor.getSnapshot();
    if (snapshot.status === "error") throw snapshot.error;
    return true;
  }

  /** Which side this endpoint plays. */
  get role(): ConnectionType {
    return this.core.role;
  }

  /** Where the connection is in its lifecycle: the statechart's top-level state. */
  get state(): ConnectionState {
    return this.lifecycle.topLevel;
  }

  /**
   * A frame or data message has started arriving and is not complete yet: what a driver's
   * message timeout bounds (a peer trickling a message, or stopping half-way).
   */
  get messageInProgress(): boolean {
    return this.core.messageInProgress;
  }

  /**
   * `events()` ended because it did its `workQuantum`, not because it ran out of input: call
   * `events()` again (after serving other connections) to go on.
   */
  get workPending(): boolean {
    return this.core.workPending;
  }

  /**
   * The bytes to write to the peer for `event`. Raises LocalProtocolError, changing nothing,
   * when the event cannot be sent in this state or is invalid.
   */
  send(event: Event): Uint8Array {
    if (this.recorder !== null) return concatBytes(this.recordSend(event, false));
    return this.sendEvent(event);
  }

  private sendEvent(event: Event): Uint8Array {
    // The hot path: a message, ping or pong in OPEN is encoded here, not by the actor.
    if (this.encodesDirectly(event)) return this.core.encodeData(event);
    if (!(event instanceof Event)) throw new LocalProtocolError(`send() takes a wsmachine Event, not ${describeValue(event)}`);
    this.output = null;
    // A send the state does not take is ignored by the chart, as by any XState machine; the
    // facade raises why (README, "The statechart").
    if (!this.lifecycleSend({ type: "ws.send", event })) throw refusalIn(this.lifecycle, this.core, event);
    const bytes = concatBytes(this.output ?? []);
    // Keep no reference to what was sent: an idle connection would hold its handshake bytes.
    this.output = null;
    if (this.lifecycle.inputPhase === "awaitingResponse") this.readHeldResponse();
    return bytes;
  }

  /**
   * A client's Request is out: a response that arrived before it (held, not parsed) is read now,
   * as the chart's awaitingResponse state reads what is buffered on entry. The bytes of the
   * Request are the caller's to write whatever the response says, so a RemoteProtocolError is
   * raised by the next `receiveData` rather than from `send`.
   */
  private readHeldResponse(): void {
    try {
      this.readHandshake();
    } catch (error) {
      if (!(error instanceof RemoteProtocolError)) throw error;
      this.heldResponseError = error;
    }
  }

  /**
   * As `send`, but as a list of chunks to write in order (e.g. with `writev`): a data message's
   * frame header comes as its own chunk, followed — for a server, which does not mask — by the
   * caller's payload array itself, uncopied (do not change it until it is written). Every
   * other event, and any client frame, comes as one chunk.
   */
  sendParts(event: Event): Uint8Array[] {
    if (this.recorder !== null) return this.recordSend(event, true);
    if (this.encodesDirectly(event)) return this.core.encodeDataParts(event);
    return [this.sendEvent(event)];
  }

  private recordSend(event: Event, asParts: boolean): Uint8Array[] {
    const send = () => (asParts && this.encodesDirectly(event) ? this.core.encodeDataParts(event) : [this.sendEvent(event)]);
    return recorded(this.recorder!, send, (error, parts) => ({ type: "send", event, data: parts, error, state: this.stateName }));
  }

  /**
   * A message, ping or pong in a state the chart tags `encodesMessages` (OPEN, a failed OPEN
   * included, as wsproto): no lifecycle step needed.
   */
  private encodesDirectly(event: Event): boolean {
    return this.lifecycle.encodesMessages && (event instanceof Message || event instanceof Ping || event instanceof Pong);
  }

  /**
   * Bytes received from the peer, or null when the transport was closed (EOF). An empty chunk
   * is not EOF. Once OPEN, the chunk is read by `events()` and may be unmasked in place: the
   * connection takes ownership of it (pass a copy if you reuse the buffer).
   */
  receiveData(data: Uint8Array | null): void {
    if (this.recorder !== null) return this.recordReceive(data);
    this.receive(data);
  }

  private recordReceive(data: Uint8Array | null): void {
    // Copied first: once OPEN, the decoder may unmask the caller's chunk in place.
    const copy = data instanceof Uint8Array ? data.slice() : null;
    recorded(this.recorder!, () => this.receive(data), (error) => ({ type: "receive", data: copy, error, state: this.stateName }));
  }

  private receive(data: Uint8Array | null): void {
    const held = this.heldResponseError;
    if (held !== null) {
      this.heldResponseError = null;
      throw held;
    }
    if (this.lifecycle.topLevel === ConnectionState.CLOSED) {
      if (data === null) return; // EOF after the end is no news (README, Differences from wsproto #2)
      throw new LocalProtocolError("receiveData() called after the connection was CLOSED");
    }
    if (data !== null && !(data instanceof Uint8Array)) {
      throw new LocalProtocolError(`receiveData() takes a Uint8Array or null, not ${typeof data}`);
    }
    const error = this.core.receive(data);
    if (error !== null) throw error;
    if (this.lifecycle.parsesOnReceive) this.readHandshake();
  }

  /**
   * Yields every pending event once, then ends. Each is a `WebSocketEvent`: `switch (event.type)`
   * narrows it to its class, as `instanceof` does.
   */
  events(): Generator<WebSocketEvent, void, undefined> {
    if (this.recorder !== null) return this.recordedEvents(this.recorder);
    return this.eventIterator?.reopen() === true ? this.eventIterator : (this.eventIterator = new EventIterator<WebSocketEvent>(this));
  }

  private *recordedEvents(record: TraceRecorder): Generator<WebSocketEvent, void, undefined> {
    for (const event of this.pendingEvents()) {
      record({ type: "event", event, state: this.stateName });
      yield event;
    }
    // Only when the iteration ran to its end: it may have changed the state without an event.
    record({ type: "drained", state: this.stateName });
  }

  /**
   * The next pending event, or null when none is pending now: what `events()` yields, one at a
   * time and without a generator (a driver that reads after every chunk allocates nothing per
   * call). As with `events()`, parsing is lazy: what is not asked for stays buffered.
   */
  nextEvent(): WebSocketEvent | null {
    const event = this.pendingEvent();
    const record = this.recorder;
    if (record !== null) record(event === null ? { type: "drained", state: this.stateName } : { type: "event", event, state: this.stateName });
    return event;
  }

  private *pendingEvents(): Generator<WebSocketEvent, void, undefined> {
    for (;;) {
      const event = this.pendingEvent();
      if (event === null) return;
      yield event;
    }
  }

  private pendingEvent(): WebSocketEvent | null {
    const produced = this.produced;
    if (produced !== null) {
      const event = produced[this.producedIndex++]!;
      if (this.producedIndex === produced.length) {
        this.produced = null;
        this.producedIndex = 0;
      }
      return event;
    }
    // The handshake's input was parsed by receiveData (the chart's parsesOnReceive states).
    this.readsHandshake = false;
    return readInput(this.core, ConnectionEndpoint.reading, this);
  }

  /**
   * Parse handshake input at once (wsproto's behaviour), until OPEN or out of input — or hand on
   * one step made outside `receiveData` (a request another HTTP stack parsed) — and raise the
   * peer's handshake error it stopped at.
   */
  protected readHandshake(step?: StepResult): void {
    this.readsHandshake = true;
    readInput(this.core, ConnectionEndpoint.reading, this, step);
    const error = this.readError;
    if (error === null) return;
    this.readError = null;
    throw error;
  }

  /**
   * How `readInput` hands the facade what the input yields: during the handshake (`receiveData`)
   * every event is kept for `events()`, from OPEN on reading stops at each event (lazily).
   */
  private static readonly reading: InputDriver<ConnectionEndpoint> = {
    inputPhase: (self) => {
      const lifecycle = self.lifecycle;
      return self.readError === null && lifecycle.parsesOnReceive === self.readsHandshake ? lifecycle.inputPhase : null;
    },
    deliver: (self, event) => {
      if (self.readsHandshake) {
        (self.produced ??= []).push(event);
        return false;
      }
      return true;
    },
    handshakeError: (self, error) => {
      self.readError = error;
    },
    lifecycle: (self, event) => self.lifecycleSend(event),
  };
}

/**
 * A WebSocket connection, client or server, from the opening handshake to the close: wsproto's
 * `WSConnection`.
 */
export class WSConnection extends ConnectionEndpoint {
  constructor(type: ConnectionType, options: ConnectionOptions = {}) {
    super(type, options);
  }

  /**
   * Server: the HTTP upgrade request was already parsed by another HTTP stack (e.g. node:http's
   * 'upgrade' event). Validates it as if it had been received; `events()` then yields the
   * Request. Raises RemoteProtocolError (with its `eventHint`) for an invalid request.
   */
  initiateUpgradeConnection(headers: Headers, target: string): void {
    if (this.recorder === null) return this.initiateUpgrade(headers, target);
    const upgrade = () => this.initiateUpgrade(headers, target);
    recorded(this.recorder!, upgrade, (error) => ({ type: "upgrade", headers, target, error, state: this.stateName }));
  }

  private initiateUpgrade(headers: Headers, target: string): void {
    if (this.core.role !== ConnectionType.SERVER) {
      throw new LocalProtocolError("initiateUpgradeConnection() is for servers");
    }
    if (this.lifecycle.inputPhase !== "awaitingRequest") {
      throw new LocalProtocolError(`initiateUpgradeConnection() needs a server awaiting its request, not state ${this.state}`);
    }
    this.readHandshake(this.core.initiateUpgrade(headers, target));
  }
}

/**
 * A connection that starts OPEN and speaks frames only: for when another stack did the
 * handshake (HTTP/2 RFC 8441, a proxy, …). wsproto's `Connection`.
 */
export class Connection extends ConnectionEndpoint {
  constructor(type: ConnectionType, options: FramesOnlyOptions = {}) {
    super(type, options, options);
  }
}
