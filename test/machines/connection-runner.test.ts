/**
 * The runner (machines/connection-runner.ts) against a real XState actor of the same machine:
 * every generated sequence of events must give the same states, contexts and outputs. Plus the
 * hand-over from runner to actor inside WSConnection, and the compiler's refusals.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { assign, createActor, setup, type Snapshot, type StateValue } from "xstate";
import { ConnectionRunner, compileMachine } from "../../machines/connection-runner.js";
import { connectionMachine, type ConnectionMachineEmitted, type ConnectionMachineEvent, type InternalConnectionMachineInput } from "../../machines/connection-machine.js";
import {
  AcceptConnection,
  BytesMessage,
  CloseConnection,
  ConnectionType,
  Ping,
  Pong,
  RejectConnection,
  RejectData,
  Request,
  TextMessage,
  WSConnection,
  type Event,
} from "../../src/index.js";
import { drain, openPair } from "../helpers/pair.js";

// Zero "randomness" (mask keys and nonces): both sides then write identical bytes. The random
// pools are filled lazily, on first use, which is after this.
let randomness: ReturnType<typeof vi.spyOn> | undefined;
beforeAll(() => {
  randomness = vi.spyOn(globalThis.crypto, "getRandomValues").mockImplementation((array: ArrayBufferView) => {
    new Uint8Array(array.buffer, array.byteOffset, array.byteLength).fill(0);
    return array;
  });
});
afterAll(() => randomness?.mockRestore());

/** What one side emitted, in a form `toEqual` compares exactly. */
function describeEmitted(emitted: ConnectionMachineEmitted): unknown {
  switch (emitted.type) {
    case "ws.output":
      return { output: [...emitted.data] };
    case "ws.error":
      return { error: emitted.error.constructor.name, message: emitted.error.message };
    case "ws.event":
      return { event: emitted.event.type, fields: JSON.stringify(emitted.event, (_key, value: unknown) => (value instanceof Uint8Array ? [...value] : value)) };
  }
}

interface Observed {
  value: StateValue;
  done: boolean;
  closeCode: number | null;
  failure: string | null;
  emitted: unknown[];
}

function sideBySide(input: InternalConnectionMachineInput) {
  const actorEmitted: unknown[] = [];
  const runnerEmitted: unknown[] = [];
  const actor = createActor(connectionMachine, { input });
  for (const type of ["ws.output", "ws.error", "ws.event"] as const) actor.on(type, (emitted) => actorEmitted.push(describeEmitted(emitted)));
  actor.start();
  const runner = new ConnectionRunner(input, (emitted) => runnerEmitted.push(describeEmitted(emitted)));
  const observe = (): { actor: Observed; runner: Observed } => {
    const snapshot = actor.getSnapshot();
    return {
      actor: {
        value: snapshot.value,
        done: snapshot.status === "done",
        closeCode: snapshot.context.closeCode,
        failure: snapshot.context.failure,
        emitted: actorEmitted.splice(0),
      },
      runner: {
        value: runner.state.value,
        done: runner.done,
        closeCode: runner.context.closeCode,
        failure: runner.context.failure,
        emitted: runnerEmitted.splice(0),
      },
    };
  };
  return {
    /** The same event to both (bytes copied: reading may unmask in place). */
    send(make: () => ConnectionMachineEvent) {
      // A done actor takes no events (XState warns when sent one); nor does the runner.
      if (actor.getSnapshot().status === "active") actor.send(make());
      runner.send(make());
    },
    observe,
  };
}

// ---------------------------------------------------------------------------------------------
// What a peer may send: real handshakes and frames (made with the zero randomness), broken ones,
// and halves of them.

function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function peerInputs(role: ConnectionType): { whole: Uint8Array[]; halves: Uint8Array[] } {
  const client = new WSConnection(ConnectionType.CLIENT);
  const server = new WSConnection(ConnectionType.SERVER);
  const request = client.send(new Request({ host: "example.com", target: "/chat", subprotocols: ["chat"] }));
  server.receiveData(request.slice());
  drain(server);
  const accept = server.send(new AcceptConnection({ subprotocol: "chat" }));
  client.receiveData(accept.slice());
  drain(client);
  const whole: Uint8Array[] = [];
  if (role === ConnectionType.SERVER) {
    whole.push(
      request,
      bytes("GET /chat HTTP/1.1\r\nHost: example.com\r\n\r\n"), // no upgrade headers
      client.send(new TextMessage({ data: "hello" })),
      client.send(new BytesMessage({ data: new Uint8Array([1, 2, 3]) })),
      client.send(new Ping({ payload: bytes("p") })),
      client.send(new TextMessage({ data: "x".repeat(300) })),
      new Uint8Array([0x81, 0x02, 0x68, 0x69]), // unmasked: RFC 6455 §5.1, 1002
      new Uint8Array([0xc1, 0x80, 0, 0, 0, 0]), // RSV1 without an extension: 1002
      new Uint8Array([0x81, 0x82, 0, 0, 0, 0, 0xc3, 0x28]), // invalid UTF-8: 1007
      client.send(new CloseConnection({ code: 1000, reason: "bye" })),
    );
  } else {
    const rejecting = new WSConnection(ConnectionType.SERVER);
    rejecting.receiveData(request.slice());
    drain(rejecting);
    const rejection = rejecting.send(new RejectConnection({ statusCode: 403, headers: [["content-length", "4"]], hasBody: true }));
    whole.push(
      accept,
      bytes("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: wrong\r\n\r\n"),
      rejection,
      bytes("nope"),
      bytes("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"),
      server.send(new TextMessage({ data: "hello" })),
      server.send(new Ping({ payload: bytes("p") })),
      new Uint8Array([0x81, 0x82, 1, 2, 3, 4, 0x69, 0x6b]), // masked by a server: 1002
      new Uint8Array([0x88, 0x01, 0x03]), // a one-byte close payload: 1002
      server.send(new CloseConnection({ code: 1001, reason: "going" })),
    );
  }
  // The handshake and what follows it in one chunk: the state entered reads the rest on entry.
  const joined = [concat(whole[0]!, whole[5]!), concat(whole[0]!, whole[9]!), concat(whole[2]!, whole[3]!)];
  const halves = whole.flatMap((chunk) => [chunk.subarray(0, chunk.length >> 1), chunk.subarray(chunk.length >> 1)]);
  return { whole: [...whole, ...joined], halves };
}

function concat(first: Uint8Array, second: Uint8Array): Uint8Array {
  const joined = new Uint8Array(first.length + second.length);
  joined.set(first);
  joined.set(second, first.length);
  return joined;
}

const sendable: Array<() => Event> = [
  () => new Request({ host: "example.com", target: "/chat", subprotocols: ["chat"] }),
  () => new AcceptConnection({ subprotocol: "chat" }),
  () => new AcceptConnection({ subprotocol: "other" }), // not offered: refused
  () => new RejectConnection({ statusCode: 400 }),
  () => new RejectConnection({ statusCode: 403, headers: [["content-length", "2"]], hasBody: true }),
  () => new RejectData({ data: bytes("n"), bodyFinished: false }),
  () => new RejectData({ data: bytes("o"), bodyFinished: true }),
  () => new TextMessage({ data: "hi" }),
  () => new BytesMessage({ data: new Uint8Array([7, 8]) }),
  () => new Ping({ payload: bytes("ping") }),
  () => new Pong({ payload: bytes("pong") }),
  () => new CloseConnection({ code: 1000, reason: "done" }),
  () => new CloseConnection({ code: 1005 }), // may not be sent: refused
  () => new CloseConnection({ code: 1002, reason: "protocol" }),
];

/** Lifecycle events as WSConnection sends them itself (when it reads input outside the machine). */
const peerEvents: Array<() => ConnectionMachineEvent> = [
  () => ({ type: "peer.request", request: new Request({ host: "h", target: "/" }) }),
  () => ({ type: "peer.accepted", accept: new AcceptConnection() }),
  () => ({ type: "peer.rejected", reject: new RejectConnection({ statusCode: 403, hasBody: true }) }),
  () => ({ type: "peer.rejected", reject: new RejectConnection({ statusCode: 404 }) }),
  () => ({ type: "peer.rejectBodyFinished" }),
  () => ({ type: "peer.handshakeFailed", message: "bad handshake" }),
  () => ({ type: "peer.close", code: 1000, reason: "bye" }),
  () => ({ type: "peer.protocolError", code: 1002, reason: "broken" }),
  () => ({ type: "transport.eof" }),
];

function steps(role: ConnectionType, directPeerEvents: boolean) {
  const { whole, halves } = peerInputs(role);
  const inputs = [...whole, ...halves];
  // The lifecycle moves only on a few of these (the handshake, a close): weighted towards them,
  // so that the sequences get past CONNECTING (the last test checks which states they reach).
  const step = fc.oneof(
    { arbitrary: fc.nat(sendable.length - 1).map((index) => ({ kind: "send" as const, index })), weight: 3 },
    { arbitrary: fc.nat(1).map((index) => ({ kind: "send" as const, index })), weight: 1 }, // Request, AcceptConnection
    { arbitrary: fc.nat(whole.length - 1).map((index) => ({ kind: "receive" as const, index })), weight: directPeerEvents ? 1 : 5 },
    { arbitrary: fc.nat(halves.length - 1).map((index) => ({ kind: "receive" as const, index: whole.length + index })), weight: 1 },
    { arbitrary: fc.constant({ kind: "eof" as const, index: 0 }), weight: 1 },
    ...(directPeerEvents ? [{ arbitrary: fc.nat(peerEvents.length - 1).map((index) => ({ kind: "peer" as const, index })), weight: 4 }] : []),
  );
  const toEvent = (chosen: { kind: "send" | "receive" | "eof" | "peer"; index: number }): (() => ConnectionMachineEvent) => {
    switch (chosen.kind) {
      case "send":
        return () => ({ type: "ws.send", event: sendable[chosen.index]!() });
      case "receive":
        return () => ({ type: "ws.receive", data: inputs[chosen.index]!.slice() });
      case "eof":
        return () => ({ type: "ws.receive", data: null });
      case "peer":
        return peerEvents[chosen.index]!;
    }
  };
  return fc.array(step, { minLength: 1, maxLength: 16 }).map((chosen) => chosen.map(toEvent));
}

describe("ConnectionRunner runs the connection machine as an actor does", () => {
  const cases: Array<[string, InternalConnectionMachineInput, boolean]> = [
    ["client reading its input in the machine", { type: ConnectionType.CLIENT }, false],
    ["server reading its input in the machine", { type: ConnectionType.SERVER }, false],
    ["client driven as WSConnection drives it", { type: ConnectionType.CLIENT, readInputInActor: false }, true],
    ["server driven as WSConnection drives it", { type: ConnectionType.SERVER, readInputInActor: false }, true],
    ["frames-only client (Connection)", { type: ConnectionType.CLIENT, framesOnly: {} }, false],
    ["frames-only server (Connection)", { type: ConnectionType.SERVER, framesOnly: {} }, false],
  ];
  for (const [name, input, direct] of cases) {
    it(`${name}: same states, contexts and outputs after every event`, () => {
      fc.assert(
        fc.property(steps(input.type, direct), (events) => {
          const pair = sideBySide(input);
          const start = pair.observe();
          expect(start.runner).toEqual(start.actor);
          for (const event of events) {
            pair.send(event);
            const seen = pair.observe();
            expect(seen.runner).toEqual(seen.actor);
          }
        }),
        { numRuns: 600 },
      );
    });
  }

  it("the generated sequences reach every atomic state of the machine", () => {
    // A property that never leaves CONNECTING would prove little: check the coverage it gets.
    const reached = new Set<string>();
    for (const [, input, direct] of cases) {
      fc.assert(
        fc.property(steps(input.type, direct), (events) => {
          const pair = sideBySide(input);
          for (const event of events) {
            pair.send(event);
            reached.add(JSON.stringify(pair.observe().runner.value));
          }
        }),
        { numRuns: 300, seed: 7 },
      );
    }
    const atomic = [
      { CONNECTING: "readyToRequest" },
      { CONNECTING: "awaitingResponse" },
      { CONNECTING: "requestReceived" },
      { CONNECTING: "requestInvalid" },
      { REJECTING: "sendingBody" },
      { REJECTING: "receivingBody" },
      { OPEN: "active" },
      { OPEN: "failed" },
      { LOCAL_CLOSING: "awaitingClose" },
      { LOCAL_CLOSING: "failed" },
      "REMOTE_CLOSING",
      "CLOSED",
    ];
    for (const value of atomic) expect(reached, JSON.stringify(value)).toContain(JSON.stringify(value));
  });
});

describe("WSConnection hands its runner's state to an actor on first use of ws.actor", () => {
  it("starts the actor in the state reached, sharing the connection's protocol state", () => {
    const client = new WSConnection(ConnectionType.CLIENT);
    const server = new WSConnection(ConnectionType.SERVER);
    server.receiveData(client.send(new Request({ host: "example.com", target: "/" })));
    drain(server);
    // Mid-handshake: the server holds a request it has not answered.
    const serverActor = server.actor;
    expect(serverActor.getSnapshot().value).toEqual({ CONNECTING: "requestReceived" });
    expect(serverActor.getSnapshot().status).toBe("active");
    expect(server.actor).toBe(serverActor);
    const states: string[] = [];
    serverActor.subscribe((snapshot) => states.push(JSON.stringify(snapshot.value)));
    client.receiveData(server.send(new AcceptConnection()));
    expect(states).toEqual([JSON.stringify({ OPEN: "active" })]);
    expect(server.state).toBe("OPEN");
    drain(client);

    // Messages still flow, and a close goes through the actor.
    server.receiveData(client.send(new TextMessage({ data: "after" })));
    expect(drain(server).map((event) => event.type)).toEqual(["TextMessage"]);
    client.receiveData(server.send(new CloseConnection({ code: 1000 })));
    expect(serverActor.getSnapshot().value).toEqual({ LOCAL_CLOSING: "awaitingClose" });
    const [close] = drain(client) as [CloseConnection];
    server.receiveData(client.send(close.response()));
    drain(server);
    expect(server.state).toBe("CLOSED");
    expect(serverActor.getSnapshot().status).toBe("done");
    expect(serverActor.getSnapshot().context.closeCode).toBe(1000);
  });

  it("an actor started after the close is done, with the close recorded", () => {
    const { client, server } = openPair();
    server.receiveData(client.send(new CloseConnection({ code: 1001, reason: "away" })));
    drain(server);
    client.receiveData(server.send(new CloseConnection({ code: 1001 })));
    drain(client);
    expect(client.actor.getSnapshot().status).toBe("done");
    expect(client.actor.getSnapshot().context.closeCode).toBe(1001);
    expect(server.actor.getSnapshot().value).toBe("CLOSED");
  });

  it("a refused send after the hand-over still throws and changes nothing", () => {
    const client = new WSConnection(ConnectionType.CLIENT);
    const actor = client.actor;
    expect(() => client.send(new AcceptConnection())).toThrow(/AcceptConnection cannot be sent by a client in state CONNECTING/);
    expect(actor.getSnapshot().value).toEqual({ CONNECTING: "readyToRequest" });
    expect(client.send(new Request({ host: "h", target: "/" })).length).toBeGreaterThan(0);
    expect(actor.getSnapshot().value).toEqual({ CONNECTING: "awaitingResponse" });
  });

  it("the persisted snapshot of a handed-over actor restores", () => {
    const { client, server } = openPair();
    const persisted = JSON.parse(JSON.stringify(server.actor.getPersistedSnapshot())) as Snapshot<unknown>;
    const restored = new WSConnection(ConnectionType.SERVER, { snapshot: persisted });
    expect(restored.state).toBe("OPEN");
    client.receiveData(restored.send(new TextMessage({ data: "restored" })));
    expect(drain(client).map((event) => (event as TextMessage).data)).toEqual(["restored"]);
  });
});

describe("compileMachine refuses what the runner does not implement", () => {
  const base = setup({ actions: { noop: () => {} } });
  it.each([
    ["parallel states", base.createMachine({ type: "parallel", states: { a: { initial: "x", states: { x: {} } }, b: { initial: "y", states: { y: {} } } } }), /parallel/],
    ["delayed transitions", base.createMachine({ initial: "a", states: { a: { after: { 10: "b" } }, b: {} } }), /delayed/],
    ["inline actions", base.createMachine({ initial: "a", states: { a: { on: { go: { actions: assign({}) } } } } }), /inline|plain implementation/],
    ["actions without a plain implementation", base.createMachine({ initial: "a", states: { a: { entry: "noop" } } }), /plain implementation/],
    ["wildcard events", base.createMachine({ initial: "a", states: { a: { on: { "*": "b" } }, b: {} } }), /wildcard/],
  ])("%s", (_name, machine, message) => {
    expect(() => compileMachine(machine, {})).toThrow(message);
  });

  it("accepts a machine whose named actions all have plain implementations", () => {
    const machine = base.createMachine({ initial: "a", states: { a: { entry: "noop", on: { go: "b" } }, b: { type: "final" } } });
    const compiled = compileMachine(machine, { noop: () => {} });
    expect(compiled.initialState.value).toBe("a");
    expect(compiled.initialState.on.get("go")![0]!.target!.final).toBe(true);
  });
});
