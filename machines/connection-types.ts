/**
 * The connection statechart's vocabulary: its input, context, events and what it emits, the
 * state tags drivers read, and the top-level state of a snapshot. Shared by the machine
 * (./connection-machine.ts), its actions (./connection-actions.ts) and the runner.
 */
import type { StateValue } from "xstate";
import type { ConnectionState, ConnectionType } from "../codec/constants.js";
import type { ProtocolError } from "../codec/errors.js";
import type { Event, WebSocketEvent } from "../codec/events.js";
import type { PeerEvent, PersistedProtocolCore, ProtocolCoreOptions, ProtocolCore } from "../codec/core/protocol-core.js";

/** The actor's input, for an app that embeds `connectionMachine` (see the README, "Embedding"). */
export interface ConnectionMachineInput extends Omit<ProtocolCoreOptions, "readInputInActor"> {
  /** Which side this endpoint plays. */
  type: ConnectionType;
  /** Also send `ws.event` / `ws.output` / `ws.error` to the parent actor (for invoked children). */
  notifyParent?: boolean;
  /** With `framesOnly`: the handshake another stack did was RFC 8441's (WebSockets over HTTP/2). */
  handshake?: "rfc8441";
}

/**
 * The input `WSConnection` gives its actor: the public input plus a field that only makes
 * sense from inside the facade, kept out of the public type so embedders never see it.
 */
export interface InternalConnectionMachineInput extends ConnectionMachineInput {
  /** False: `WSConnection` reads input itself in `events()`, and the actions leave it alone. */
  readInputInActor?: boolean;
}

export interface ConnectionMachineContext {
  readonly role: ConnectionType;
  /**
   * Codec state: handshake parser, frame decoder/encoder, buffered input — the actions' mutable
   * state, like a ref (./connection-machine.ts). Not serializable as such: `persistConnection`
   * carries its `describe()` instead, and `restoreConnection` rebuilds it.
   */
  readonly core: ProtocolCore;
  readonly notifyParent: boolean;
  /**
   * Which opening handshake this connection took: RFC 6455's HTTP/1.1 upgrade (its own
   * CONNECTING states), RFC 8441's extended CONNECT over HTTP/2 done by the HTTP/2 stack, or
   * another done elsewhere (a proxy, …); the last two start OPEN, frames only.
   */
  readonly handshake: "http/1.1" | "rfc8441" | "external";
  /** The close code received from the peer or produced locally for it (1005, 1006, a failure). */
  readonly closeCode: number | null;
  /** Why the peer's input was refused, once it was (RFC 6455 §7.1.7 "fail the connection"). */
  readonly failure: string | null;
}

export type ConnectionMachineEvent =
  | { type: "ws.receive"; data: Uint8Array | null }
  | { type: "ws.send"; event: Event }
  | PeerEvent;

/**
 * What the actor emits (and, with `notifyParent`, sends to its parent). `ws.event` carries a
 * `WebSocketEvent`, so a parent typed with this union narrows `event.event.type` without a cast.
 */
export type ConnectionMachineEmitted =
  | { type: "ws.event"; event: WebSocketEvent }
  | { type: "ws.output"; data: Uint8Array }
  | { type: "ws.error"; error: ProtocolError };

/** The names of the sendable events, for the `sends` guard. */
export type SendableName =
  | "Request"
  | "AcceptConnection"
  | "RejectConnection"
  | "RejectData"
  | "Message"
  | "Ping"
  | "Pong"
  | "CloseConnection";

export function sendableName(event: Event): SendableName {
  const type = event.type;
  if (type === "TextMessage" || type === "BytesMessage" || type === "TextBytesMessage") return "Message";
  return type as SendableName;
}

/**
 * Per-state facts that drivers read from the chart (state tags; `snapshot.hasTag(tag)` on an
 * actor, the compiled table in the runner and `WSConnection`):
 * - `parsesOnReceive`: the opening handshake, where input is parsed as it arrives (as
 *   wsproto), so a Request, a response or a handshake error comes out of `receiveData`;
 * - `encodesMessages`: messages, pings and pongs may be encoded without a lifecycle step (they
 *   never change the state), which is how `WSConnection` keeps them off the statechart.
 */
export const ConnectionTag = Object.freeze({ parsesOnReceive: "parsesOnReceive", encodesMessages: "encodesMessages" } as const);

/** The context as `persistConnection()` carries it: the protocol core as plain data. */
export interface PersistedConnectionContext extends Omit<ConnectionMachineContext, "core"> {
  readonly core: PersistedProtocolCore;
}

/**
 * The top-level state — a `ConnectionState` such as "OPEN" — of a connection actor's snapshot
 * (`actor.getSnapshot()`) or of its `value`, whose sub-states (`{ CONNECTING: "awaitingRequest" }`)
 * an app rarely needs.
 */
export function topLevelState(snapshotOrValue: { readonly value: StateValue } | StateValue): ConnectionState {
  // A state value object is keyed by state names, which are upper case: never "value".
  const value = (typeof snapshotOrValue === "object" && "value" in snapshotOrValue ? snapshotOrValue.value : snapshotOrValue) as StateValue;
  return (typeof value === "string" ? value : Object.keys(value)[0]) as ConnectionState;
}


