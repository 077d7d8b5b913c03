/**
 * What an XState app that embeds `connectionMachine` sees (README, "Embedding in an XState
 * app"): a parent typed from `ConnectionMachineEmitted` narrows `ws.event` without a cast,
 * `topLevelState` reads a snapshot, and the input type has no internal fields.
 */
import { describe, expect, it } from "vitest";
import { assign, createActor, sendTo, setup } from "xstate";
import {
  AcceptConnection,
  ConnectionState,
  ConnectionType,
  Request,
  TextMessage,
  WSConnection,
  connectionMachine,
  topLevelState,
  type ConnectionMachineEmitted,
  type ConnectionMachineInput,
} from "../../src/index.js";

type ParentEvent = { type: "socket.data"; data: Uint8Array } | ConnectionMachineEmitted;

/** A server parent that accepts, then records every text message: no cast anywhere. */
const parent = setup({
  types: { context: {} as { texts: string[]; output: Uint8Array[] }, events: {} as ParentEvent },
  actors: { connection: connectionMachine },
  guards: {
    isRequest: ({ event }) => event.type === "ws.event" && event.event.type === "Request",
    isText: ({ event }) => event.type === "ws.event" && event.event.type === "TextMessage",
  },
}).createMachine({
  context: { texts: [], output: [] },
  invoke: { id: "connection", src: "connection", input: { type: ConnectionType.SERVER, notifyParent: true } },
  on: {
    "socket.data": { actions: sendTo("connection", ({ event }) => ({ type: "ws.receive" as const, data: event.data })) },
    "ws.output": { actions: assign({ output: ({ context, event }) => [...context.output, event.data] }) },
    "ws.event": [
      { guard: "isRequest", actions: sendTo("connection", { type: "ws.send", event: new AcceptConnection() }) },
      {
        guard: "isText",
        actions: assign({
          // `event.event.data` is a string here only because the union narrows on `type`.
          texts: ({ context, event }) =>
            event.type === "ws.event" && event.event.type === "TextMessage" ? [...context.texts, event.event.data.toUpperCase()] : context.texts,
        }),
      },
    ],
  },
});

describe("embedding connectionMachine", () => {
  it("a parent typed from ConnectionMachineEmitted narrows ws.event and talks to a client", () => {
    const actor = createActor(parent).start();
    const client = new WSConnection(ConnectionType.CLIENT);
    actor.send({ type: "socket.data", data: client.send(new Request({ host: "example.com", target: "/" })) });
    for (const chunk of actor.getSnapshot().context.output) client.receiveData(chunk);
    expect([...client.events()].map((event) => event.type)).toEqual(["AcceptConnection"]);
    actor.send({ type: "socket.data", data: client.send(new TextMessage({ data: "hello" })) });
    expect(actor.getSnapshot().context.texts).toEqual(["HELLO"]);
    const child = actor.getSnapshot().children.connection;
    expect(child === undefined ? null : topLevelState(child.getSnapshot())).toBe(ConnectionState.OPEN);
  });

  it("topLevelState reads a snapshot or a state value", () => {
    const actor = createActor(connectionMachine, { input: { type: ConnectionType.SERVER } }).start();
    expect(actor.getSnapshot().value).toEqual({ CONNECTING: "awaitingRequest" });
    expect(topLevelState(actor.getSnapshot())).toBe(ConnectionState.CONNECTING);
    expect(topLevelState(actor.getSnapshot().value)).toBe(ConnectionState.CONNECTING);
    expect(topLevelState("CLOSED")).toBe(ConnectionState.CLOSED);
  });

  it("the public input type has no internal fields", () => {
    const input: ConnectionMachineInput = { type: ConnectionType.CLIENT, notifyParent: false, maxMessageSize: 1024 };
    // @ts-expect-error readInputInActor is internal to WSConnection
    const reading: ConnectionMachineInput = { type: ConnectionType.CLIENT, readInputInActor: true };
    expect([input, reading].map((each) => each.type)).toEqual(["client", "client"]);
  });
});
