/**
 * The lifecycle of one WebSocket connection, as an XState v5 statechart. This file is the whole
 * lifecycle: RFC 6455 §4 (the opening handshake), §5–6 (data transfer in OPEN) and §7 (the
 * closing handshake), with wsproto's `Connection.send` ladder as the guards on `ws.send`.
 *
 *   CONNECTING ──request/accept──▶ OPEN ──close sent──────▶ LOCAL_CLOSING ──close received──▶ CLOSED
 *        │                          └────close received──▶ REMOTE_CLOSING ──close sent─────▶ CLOSED
 *        └──reject──▶ REJECTING ──body finished──▶ CLOSED          (EOF anywhere ──────────▶ CLOSED)
 *
 * The statechart owns every lifecycle change. What happens on the wire is done by the actions,
 * which call the codec through `ProtocolCore` (codec/core/protocol-core.ts). Per-message work —
 * frames in, messages out — does not need the statechart's attention: `WSConnection` runs the
 * codec directly while the actor is in OPEN, and only asks the actor to move when a frame
 * changes the lifecycle (a close frame, a protocol failure, EOF). Used as an actor on its own
 * (embedded in an XState app), the machine does the same work itself on `ws.receive` / `ws.send`
 * and reports through `emit`:
 *
 * - in: `{ type: "ws.receive", data: Uint8Array | null }` (null: the transport was closed)
 * - in: `{ type: "ws.send", event: Event }`
 * - out: `{ type: "ws.event", event }` for each protocol event, `{ type: "ws.output", data }` for
 *   each chunk of bytes to write, `{ type: "ws.error", error }` for a handshake the peer got
 *   wrong (RemoteProtocolError, whose `eventHint` a server may send back).
 *
 * A `ws.send` that the state does not take — the wrong state, or an event its guard refuses — is
 * not a transition: the actor ignores it, as XState machines ignore what a state does not
 * handle, so `snapshot.can({ type: "ws.send", event })` answers exactly as `WSConnection.send`
 * would, and `sendRefusal(snapshot, event)` (./connection-snapshot.ts) gives the
 * LocalProtocolError `send` raises.
 *
 * XState parents do not see a child's `emit`; with `input.notifyParent` the same three events are
 * also sent to the parent actor (`sendParent`), so an invoking machine can handle them in `on`.
 *
 * The guards are pure: `canSend` and `sends` ask the core whether an event can be sent
 * (`sendRefusal`), which validates it without encoding or changing anything; the actions then
 * encode and write. Actions never throw: an exception inside an XState action puts the actor in
 * an error state and is rethrown later from a timer — the one exception is an Extension or an
 * Entropy that breaks its contract (codec/core/lifecycle-sends.ts, `write`).
 *
 * `context.core` is the codec's mutable state, owned by the actions like a ref: parsers, decoder,
 * encoder, buffered input and compression contexts change with every byte, which no `assign`
 * could copy at that rate. The statechart's own record of the connection (`closeCode`,
 * `failure`) changes only through `assign`, and the core is never changed by a guard. Persist
 * and restore with `persistConnection` / `restoreConnection` (./connection-snapshot.ts), which
 * put the core's description in its place and back.
 */
import { and, enqueueActions, setup, type ActorRefFrom, type SnapshotFrom } from "xstate";
import { ConnectionType } from "../codec/constants.js";
import type { RejectConnection, RejectData } from "../codec/events.js";
import { ProtocolCore } from "../codec/core/protocol-core.js";
import { connectionActions, type ActionEffects, type ConnectionAction } from "./connection-actions.js";
import {
  ConnectionTag,
  sendableName,
  type ConnectionMachineContext,
  type ConnectionMachineEmitted,
  type ConnectionMachineEvent,
  type ConnectionMachineInput,
  type SendableName,
} from "./connection-types.js";

// The statechart's vocabulary and actions live beside it; importers of the machine get them here too.
export * from "./connection-types.js";
export * from "./connection-actions.js";

const PARSES_ON_RECEIVE = [ConnectionTag.parsesOnReceive];
const ENCODES_MESSAGES = [ConnectionTag.encodesMessages];

/** The `canSend` guard for these kinds of event. */
function canSend(...kinds: SendableName[]) {
  return { type: "canSend" as const, params: { kinds } };
}

/**
 * Server: a rejection's head is written; with a body to follow the connection is REJECTING,
 * without one it is over (wsproto's behaviour).
 */
const rejectionTransitions = [
  {
    guard: and(["rejectionHasBody", canSend("RejectConnection")]),
    target: "#wsConnection.REJECTING.sendingBody",
    actions: "writeSend",
  },
  { guard: canSend("RejectConnection"), target: "#wsConnection.CLOSED", actions: "writeSend" },
] as const;

/**
 * The context's core, checked to be a live one: a persisted snapshot given to `createActor`
 * without `restoreConnection` carries only the core's description, and would fail on its first
 * event with a TypeError that says nothing useful.
 */
function liveCore(context: ConnectionMachineContext): ProtocolCore {
  const core = context.core;
  if (core instanceof ProtocolCore) return core;
  throw new Error(
    "this connection actor's context.core is a persisted description, not a live protocol core: restore a persisted " +
      "connection with createActor(connectionMachine, { snapshot: restoreConnection(persisted, input), input }) (README, \"Persisting a connection\")",
  );
}

/** An action as the actor runs it: XState's effects (emit, sendParent, raise, assign) behind `ActionEffects`. */
function inActor<Params>(action: ConnectionAction<Params>) {
  return enqueueActions<ConnectionMachineContext, ConnectionMachineEvent, Params, ConnectionMachineEvent, never, never, never, never, ConnectionMachineEmitted>(
    ({ context, event, enqueue }, params) => {
      liveCore(context);
      const effects: ActionEffects = {
        emit: (emitted) => {
          enqueue.emit(emitted);
          if (context.notifyParent) enqueue.sendParent(emitted);
        },
        raise: (raised) => enqueue.raise(raised),
        assign: (patch) => enqueue.assign(patch),
      };
      action({ context, event, effects }, params);
    },
  );
}


export const connectionMachine = setup({
  types: {
    context: {} as ConnectionMachineContext,
    events: {} as ConnectionMachineEvent,
    emitted: {} as ConnectionMachineEmitted,
    input: {} as ConnectionMachineInput,
  },
  guards: {
    viaRfc8441: ({ context }) => context.handshake === "rfc8441",
    startsOpen: ({ context }) => context.core.framesOnly,
    isClient: ({ context }) => context.role === ConnectionType.CLIENT,
    /**
     * The event to send is of these kinds and can be sent: the core validates it without
     * encoding it or changing anything (`sendRefusal`); `writeSend` then encodes it.
     */
    canSend: ({ context, event }, params: { kinds: readonly SendableName[] }) =>
      event.type === "ws.send" && params.kinds.includes(sendableName(event.event)) && liveCore(context).sendRefusal(event.event) === null,
    /**
     * The event to send is a message, ping or pong of these kinds that can be sent now. Pure: it
     * asks the encoder (`dataRefusal`) without encoding, because encoding a data frame advances
     * the compressor's history (RFC 7692 context takeover) and must not be done for a frame that
     * is then not written — as `snapshot.can()` would. So `snapshot.can(ws.send)` answers as
     * `ws.send` then does.
     */
    sends: ({ context, event }, params: { kinds: readonly SendableName[] }) =>
      event.type === "ws.send" && params.kinds.includes(sendableName(event.event)) && liveCore(context).dataRefusal(event.event) === null,
    rejectionHasBody: ({ event }) => {
      if (event.type === "peer.rejected") return event.reject.hasBody;
      if (event.type === "ws.send") return (event.event as RejectConnection).hasBody;
      return false;
    },
    finishesRejectionBody: ({ event }) =>
      event.type === "ws.send" && (event.event as RejectData).bodyFinished,
  },
  // Each action is a plain function over `ActionEffects` (connectionActions, below), so that the
  // lightweight runner (machines/connection-runner.ts) runs the same code as the actor does.
  actions: {
    writeSend: inActor(connectionActions.writeSend),
    writeData: inActor(connectionActions.writeData),
    readInput: inActor(connectionActions.readInput),
    drain: inActor(connectionActions.drain),
    openFrames: inActor(connectionActions.openFrames),
    recordPeerEvent: inActor(connectionActions.recordPeerEvent),
  },
}).createMachine({
  id: "wsConnection",
  context: ({ input }) => ({
    role: input.type,
    core: new ProtocolCore(input.type, input),
    notifyParent: input.notifyParent ?? false,
    handshake: input.framesOnly === undefined ? "http/1.1" : input.handshake === "rfc8441" ? "rfc8441" : "external",
    closeCode: null,
    failure: null,
  }),
  initial: "CONNECTING",
  states: {
    CONNECTING: {
      initial: "choosingRole",
      on: {
        // RFC 6455 §7.1.5: the transport closed before the handshake finished; wsmachine reports 1006.
        "transport.eof": { target: "CLOSED", actions: "recordPeerEvent" },
      },
      states: {
        choosingRole: {
          always: [
            // `Connection`: another stack did the handshake: HTTP/2's extended CONNECT (RFC 8441
            // §4–5), or another (a proxy, …).
            { guard: "viaRfc8441", target: "#wsConnection.OPEN" },
            { guard: "startsOpen", target: "#wsConnection.OPEN" },
            { guard: "isClient", target: "readyToRequest" },
            { target: "awaitingRequest" },
          ],
        },
        // Client, RFC 6455 §4.1: nothing sent yet.
        readyToRequest: {
          tags: PARSES_ON_RECEIVE,
          on: {
            "ws.send": { guard: canSend("Request"), target: "awaitingResponse", actions: "writeSend" },
            "ws.receive": { actions: { type: "readInput", params: { phase: "buffering" } } },
          },
        },
        // Client: the upgrade request is out; read the response (1xx informational ones are skipped).
        awaitingResponse: {
          tags: PARSES_ON_RECEIVE,
          entry: { type: "drain", params: { phase: "awaitingResponse" } },
          on: {
            "ws.receive": { actions: { type: "readInput", params: { phase: "awaitingResponse" } } },
            "peer.accepted": { target: "#wsConnection.OPEN" },
            "peer.rejected": [
              { guard: "rejectionHasBody", target: "#wsConnection.REJECTING.receivingBody" },
              { target: "#wsConnection.CLOSED" },
            ],
            "peer.handshakeFailed": { target: "#wsConnection.CLOSED", actions: "recordPeerEvent" },
          },
        },
        // Server, RFC 6455 §4.2.1: read the upgrade request.
        awaitingRequest: {
          tags: PARSES_ON_RECEIVE,
          entry: { type: "drain", params: { phase: "awaitingRequest" } },
          on: {
            "ws.receive": { actions: { type: "readInput", params: { phase: "awaitingRequest" } } },
            "peer.request": { target: "requestReceived" },
            "peer.handshakeFailed": { target: "requestInvalid", actions: "recordPeerEvent" },
          },
        },
        // Server: the application decides (RFC 6455 §4.2.2). Bytes that arrive meanwhile are kept:
        // they are the client's first frames.
        requestReceived: {
          tags: PARSES_ON_RECEIVE,
          on: {
            "ws.send": [
              { guard: canSend("AcceptConnection"), target: "#wsConnection.OPEN", actions: "writeSend" },
              ...rejectionTransitions,
            ],
            "ws.receive": { actions: { type: "readInput", params: { phase: "buffering" } } },
          },
        },
        // Server: the request was invalid (RemoteProtocolError); only a rejection may follow.
        requestInvalid: {
          tags: PARSES_ON_RECEIVE,
          on: {
            "ws.send": rejectionTransitions,
            "ws.receive": { actions: { type: "readInput", params: { phase: "buffering" } } },
          },
        },
      },
    },

    // A rejection whose body is in flight: the server writes it, the client reads it.
    REJECTING: {
      initial: "sendingBody",
      on: {
        "transport.eof": { target: "CLOSED", actions: "recordPeerEvent" },
        "peer.rejectBodyFinished": { target: "CLOSED" },
        // The rejection's body was malformed or cut short (RemoteProtocolError).
        "peer.handshakeFailed": { target: "CLOSED", actions: "recordPeerEvent" },
      },
      states: {
        sendingBody: {
          tags: PARSES_ON_RECEIVE,
          on: {
            "ws.send": [
              {
                guard: and(["finishesRejectionBody", canSend("RejectData")]),
                target: "#wsConnection.CLOSED",
                actions: "writeSend",
              },
              { guard: canSend("RejectData"), actions: "writeSend" },
            ],
            "ws.receive": { actions: { type: "readInput", params: { phase: "buffering" } } },
          },
        },
        receivingBody: {
          tags: PARSES_ON_RECEIVE,
          entry: { type: "drain", params: { phase: "receivingBody" } },
          on: {
            "ws.receive": { actions: { type: "readInput", params: { phase: "receivingBody" } } },
          },
        },
      },
    },

    // RFC 6455 §5–6: data transfer. Frames in and messages out run the codec directly.
    OPEN: {
      entry: "openFrames",
      initial: "active",
      on: {
        // RFC 6455 §7.1.5: no close frame arrived before the transport ended: 1006.
        "transport.eof": { target: "CLOSED", actions: "recordPeerEvent" },
      },
      states: {
        active: {
          tags: ENCODES_MESSAGES,
          entry: { type: "drain", params: { phase: "open" } },
          on: {
            "ws.receive": { actions: { type: "readInput", params: { phase: "open" } } },
            "ws.send": [
              { guard: { type: "sends", params: { kinds: ["Message", "Ping", "Pong"] } }, actions: "writeData" },
              { guard: canSend("CloseConnection"), target: "#wsConnection.LOCAL_CLOSING", actions: "writeSend" },
            ],
            "peer.close": { target: "#wsConnection.REMOTE_CLOSING", actions: "recordPeerEvent" },
            "peer.protocolError": { target: "failed", actions: "recordPeerEvent" },
          },
        },
        // RFC 6455 §7.1.7: the peer broke the protocol and the caller was handed a CloseConnection
        // with the code to fail with. Later input is discarded; the caller answers with a close.
        failed: {
          tags: ENCODES_MESSAGES,
          on: {
            "ws.receive": { actions: { type: "readInput", params: { phase: "failed" } } },
            "ws.send": [
              { guard: { type: "sends", params: { kinds: ["Message", "Ping", "Pong"] } }, actions: "writeData" },
              { guard: canSend("CloseConnection"), target: "#wsConnection.LOCAL_CLOSING.failed", actions: "writeSend" },
            ],
          },
        },
      },
    },

    // RFC 6455 §7.1.2: our close frame is out; the peer's data may still arrive until its close.
    LOCAL_CLOSING: {
      initial: "awaitingClose",
      on: {
        "transport.eof": { target: "CLOSED", actions: "recordPeerEvent" },
      },
      states: {
        awaitingClose: {
          entry: { type: "drain", params: { phase: "localClosing" } },
          on: {
            "ws.receive": { actions: { type: "readInput", params: { phase: "localClosing" } } },
            "peer.close": { target: "#wsConnection.CLOSED", actions: "recordPeerEvent" },
            "peer.protocolError": { target: "failed", actions: "recordPeerEvent" },
          },
        },
        failed: {
          on: {
            "ws.receive": { actions: { type: "readInput", params: { phase: "failed" } } },
          },
        },
      },
    },

    // RFC 6455 §7.1.3: the peer's close frame arrived; we owe it ours. Its later bytes are ignored.
    REMOTE_CLOSING: {
      entry: { type: "drain", params: { phase: "remoteClosing" } },
      on: {
        "ws.receive": { actions: { type: "readInput", params: { phase: "remoteClosing" } } },
        "ws.send": { guard: canSend("CloseConnection"), target: "CLOSED", actions: "writeSend" },
        "transport.eof": { target: "CLOSED", actions: "recordPeerEvent" },
      },
    },

    // RFC 6455 §7.1.4: the WebSocket connection is closed; the server tears down TCP first.
    CLOSED: {
      type: "final",
    },
  },
});

export type ConnectionActor = ActorRefFrom<typeof connectionMachine>;
export type ConnectionSnapshot = SnapshotFrom<typeof connectionMachine>;
