/**
 * Persisting and restoring connection actors: `persistConnection(actor)` → JSON →
 * `createActor(connectionMachine, { snapshot: restoreConnection(persisted, input), input })` gives
 * the same lifecycle state, and the restored actor goes on working with its peer. Frame-level
 * state is not restored (the last tests show what that means).
 */
import { describe, expect, it } from "vitest";
import { createActor, type Snapshot } from "xstate";
import {
  AcceptConnection,
  BytesMessage,
  CloseConnection,
  ConnectionState,
  ConnectionType,
  PerMessageDeflate,
  Ping,
  RejectConnection,
  Request,
  TextMessage,
  WSConnection,
  connectionMachine,
  persistConnection,
  restoreConnection,
  type ConnectionMachineInput,
} from "../../src/index.js";
import { echoServerMachine } from "../../examples/echo-server-machine.js";
import type { PersistedConnectionContext } from "../../machines/connection-machine.js";
import { copy, drain } from "../helpers/pair.js";
import { recordedActor, type RecordedActor } from "../helpers/actor.js";

const endpoint = recordedActor;
type Endpoint = RecordedActor;

/** Persist, through JSON text, and restore. */
function persistAndRestore(original: Endpoint, type: ConnectionType, input: Partial<ConnectionMachineInput> = {}): Endpoint {
  const json = JSON.stringify(persistConnection(original.actor));
  original.actor.stop();
  return endpoint(type, restoreConnection(JSON.parse(json) as Snapshot<unknown>, { type, ...input }), input);
}

function pass(from: Endpoint, to: Endpoint): string[] {
  to.receive(from.written());
  return to.types();
}

function handshake(options: { request?: Request; accept?: () => AcceptConnection } = {}): { client: Endpoint; server: Endpoint } {
  const client = endpoint(ConnectionType.CLIENT);
  const server = endpoint(ConnectionType.SERVER);
  client.send(options.request ?? new Request({ host: "example.com", target: "/chat", subprotocols: ["chat.v1"] }));
  expect(pass(client, server)).toEqual(["Request"]);
  server.send(options.accept?.() ?? new AcceptConnection({ subprotocol: "chat.v1" }));
  expect(pass(server, client)).toEqual(["AcceptConnection"]);
  return { client, server };
}

/** A text message each way, checking the data. */
function talk(client: Endpoint, server: Endpoint, text: string): void {
  client.send(new TextMessage({ data: text }));
  server.receive(client.written());
  expect((server.events.splice(0)[0] as TextMessage).data).toBe(text);
  server.send(new TextMessage({ data: text.toUpperCase() }));
  client.receive(server.written());
  expect((client.events.splice(0)[0] as TextMessage).data).toBe(text.toUpperCase());
}

describe("persisted snapshot", () => {
  it("is plain JSON data describing the connection, not the codec objects", () => {
    const { server } = handshake();
    const persisted = persistConnection(server.actor) as unknown as { value: unknown; context: PersistedConnectionContext };
    expect(persisted.value).toEqual({ OPEN: "active" });
    const core = persisted.context.core;
    expect(Object.getPrototypeOf(core)).toBe(Object.prototype);
    expect(core).toMatchObject({
      version: 1,
      role: "server",
      maxMessageSize: 64 * 1024 * 1024,
      subprotocol: "chat.v1",
      extensions: [],
      frames: { decoding: true, encoding: true },
      request: { host: "example.com", target: "/chat", subprotocols: ["chat.v1"] },
    });
    expect(JSON.parse(JSON.stringify(persisted))).toEqual(persisted);
    // The live actor is untouched by persisting.
    expect(server.actor.getSnapshot().context.core.describe).toBeTypeOf("function");
  });
});

describe("restoring each state (persist → JSON → restore → same state, and it keeps working)", () => {
  it("CONNECTING.readyToRequest: the restored client sends its request", () => {
    const restored = persistAndRestore(endpoint(ConnectionType.CLIENT), ConnectionType.CLIENT);
    expect(restored.value()).toEqual({ CONNECTING: "readyToRequest" });
    const server = endpoint(ConnectionType.SERVER);
    restored.send(new Request({ host: "h", target: "/" }));
    expect(pass(restored, server)).toEqual(["Request"]);
    server.send(new AcceptConnection());
    expect(pass(server, restored)).toEqual(["AcceptConnection"]);
    talk(restored, server, "hi");
  });

  it("CONNECTING.awaitingResponse: the restored client checks the response against its offer (nonce, subprotocols)", () => {
    const client = endpoint(ConnectionType.CLIENT);
    const server = endpoint(ConnectionType.SERVER);
    client.send(new Request({ host: "h", target: "/", subprotocols: ["a", "b"] }));
    expect(pass(client, server)).toEqual(["Request"]);
    const restored = persistAndRestore(client, ConnectionType.CLIENT);
    expect(restored.value()).toEqual({ CONNECTING: "awaitingResponse" });
    server.send(new AcceptConnection({ subprotocol: "b" }));
    expect(pass(server, restored)).toEqual(["AcceptConnection"]);
    expect(restored.value()).toEqual({ OPEN: "active" });
    talk(restored, server, "after restore");
    expect(restored.errors).toEqual([]);
  });

  it("CONNECTING.awaitingRequest: the restored server reads the request", () => {
    const restored = persistAndRestore(endpoint(ConnectionType.SERVER), ConnectionType.SERVER);
    expect(restored.value()).toEqual({ CONNECTING: "awaitingRequest" });
    const client = endpoint(ConnectionType.CLIENT);
    client.send(new Request({ host: "h", target: "/x" }));
    expect(pass(client, restored)).toEqual(["Request"]);
    expect(restored.value()).toEqual({ CONNECTING: "requestReceived" });
  });

  it("CONNECTING.requestReceived: the restored server accepts with the persisted request (key, offers)", () => {
    const client = endpoint(ConnectionType.CLIENT);
    const server = endpoint(ConnectionType.SERVER);
    client.send(new Request({ host: "h", target: "/", subprotocols: ["v2"] }));
    expect(pass(client, server)).toEqual(["Request"]);
    const restored = persistAndRestore(server, ConnectionType.SERVER);
    expect(restored.value()).toEqual({ CONNECTING: "requestReceived" });
    restored.send(new AcceptConnection({ subprotocol: "v2" }));
    expect(pass(restored, client)).toEqual(["AcceptConnection"]);
    talk(client, restored, "accepted after restore");
  });

  it("CONNECTING.requestInvalid: the restored server can still reject", () => {
    const server = endpoint(ConnectionType.SERVER);
    server.receive(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
    expect(server.value()).toEqual({ CONNECTING: "requestInvalid" });
    const restored = persistAndRestore(server, ConnectionType.SERVER);
    expect(restored.value()).toEqual({ CONNECTING: "requestInvalid" });
    expect(restored.actor.getSnapshot().context.failure).toBe(server.actor.getSnapshot().context.failure);
    restored.send(new RejectConnection({ statusCode: 400 }));
    expect(new TextDecoder().decode(restored.written())).toMatch(/^HTTP\/1\.1 400 /);
    expect(restored.value()).toBe("CLOSED");
  });

  it("OPEN: both restored ends exchange messages, pings and a closing handshake", () => {
    const pair = handshake();
    talk(pair.client, pair.server, "before");
    const client = persistAndRestore(pair.client, ConnectionType.CLIENT);
    const server = persistAndRestore(pair.server, ConnectionType.SERVER);
    expect(client.value()).toEqual({ OPEN: "active" });
    expect(server.value()).toEqual({ OPEN: "active" });
    talk(client, server, "after");
    client.send(new BytesMessage({ data: Uint8Array.of(1, 2, 3) }));
    client.send(new Ping({ payload: Uint8Array.of(7) }));
    expect(pass(client, server)).toEqual(["BytesMessage", "Ping"]);
    client.send(new CloseConnection({ code: 1000, reason: "bye" }));
    expect(pass(client, server)).toEqual(["CloseConnection"]);
    server.send(new CloseConnection({ code: 1000, reason: "bye" }));
    expect(pass(server, client)).toEqual(["CloseConnection"]);
    expect([client.value(), server.value()]).toEqual(["CLOSED", "CLOSED"]);
    expect([...client.errors, ...server.errors]).toEqual([]);
  });

  it("OPEN.failed: the failure is kept and the restored end can close", () => {
    const { server } = handshake();
    // An unmasked frame from a client: protocol error (RFC 6455 §5.1).
    server.receive(Uint8Array.of(0x81, 0x02, 0x68, 0x69));
    expect(server.types()).toEqual(["CloseConnection"]);
    const restored = persistAndRestore(server, ConnectionType.SERVER);
    expect(restored.value()).toEqual({ OPEN: "failed" });
    expect(restored.actor.getSnapshot().context).toMatchObject({ closeCode: 1002, failure: expect.stringMatching(/mask/i) });
    restored.send(new CloseConnection({ code: 1002 }));
    expect(restored.written()[0]).toBe(0x88);
    expect(restored.value()).toEqual({ LOCAL_CLOSING: "failed" });
  });

  it("LOCAL_CLOSING: the restored end reads the peer's close reply", () => {
    const { client, server } = handshake();
    client.send(new CloseConnection({ code: 1001, reason: "going" }));
    const closeFrame = client.written();
    const restored = persistAndRestore(client, ConnectionType.CLIENT);
    expect(restored.value()).toEqual({ LOCAL_CLOSING: "awaitingClose" });
    server.receive(closeFrame);
    const [close] = server.events.splice(0);
    server.send((close as CloseConnection).response());
    expect(pass(server, restored)).toEqual(["CloseConnection"]);
    expect(restored.value()).toBe("CLOSED");
    expect(restored.actor.getSnapshot().context.closeCode).toBe(1001);
  });

  it("REMOTE_CLOSING: the restored end sends the close reply", () => {
    const { client, server } = handshake();
    client.send(new CloseConnection({ code: 1000, reason: "done" }));
    expect(pass(client, server)).toEqual(["CloseConnection"]);
    const restored = persistAndRestore(server, ConnectionType.SERVER);
    expect(restored.value()).toBe("REMOTE_CLOSING");
    expect(restored.actor.getSnapshot().context.closeCode).toBe(1000);
    restored.send(new CloseConnection({ code: 1000, reason: "done" }));
    expect(restored.value()).toBe("CLOSED");
    expect(pass(restored, client)).toEqual(["CloseConnection"]);
    expect(client.value()).toBe("CLOSED");
  });

  it("CLOSED: restored as done, with its close code", () => {
    const { client } = handshake();
    client.receive(null);
    expect(client.value()).toBe("CLOSED");
    const restored = persistAndRestore(client, ConnectionType.CLIENT);
    expect(restored.value()).toBe("CLOSED");
    expect(restored.actor.getSnapshot().status).toBe("done");
    expect(restored.actor.getSnapshot().context.closeCode).toBe(1006);
  });

  it("REJECTING: the state is restored; the body in flight is not (EOF ends it)", () => {
    const client = endpoint(ConnectionType.CLIENT);
    client.send(new Request({ host: "h", target: "/" }));
    client.written();
    client.receive(new TextEncoder().encode("HTTP/1.1 403 Forbidden\r\nContent-Length: 10\r\n\r\nno"));
    expect(client.value()).toEqual({ REJECTING: "receivingBody" });
    const restored = persistAndRestore(client, ConnectionType.CLIENT);
    expect(restored.value()).toEqual({ REJECTING: "receivingBody" });
    restored.receive(null);
    expect(restored.value()).toBe("CLOSED");
  });
});

describe("restoring negotiated extensions", () => {
  const noContextTakeover = { clientNoContextTakeover: true, serverNoContextTakeover: true, threshold: 0 };

  function deflatePair() {
    return handshake({
      request: new Request({ host: "h", target: "/", extensions: [new PerMessageDeflate(noContextTakeover)] }),
      accept: () => new AcceptConnection({ extensions: [new PerMessageDeflate(noContextTakeover)] }),
    });
  }

  it("permessage-deflate with no_context_takeover both ways: compressed messages go on after restoring either end", () => {
    const pair = deflatePair();
    talk(pair.client, pair.server, "compressed ".repeat(20));
    const persisted = persistConnection(pair.client.actor) as unknown as { context: PersistedConnectionContext };
    expect(persisted.context.core.extensions).toEqual([
      { name: "permessage-deflate", response: "permessage-deflate; server_no_context_takeover; client_no_context_takeover" },
    ]);
    const restoreExtension = (name: string) => {
      expect(name).toBe("permessage-deflate");
      return new PerMessageDeflate(noContextTakeover);
    };
    const client = persistAndRestore(pair.client, ConnectionType.CLIENT, { restoreExtension });
    const server = persistAndRestore(pair.server, ConnectionType.SERVER, { restoreExtension });
    client.send(new TextMessage({ data: "again ".repeat(50) }));
    const wire = client.written();
    expect(wire[0]! & 0x40).toBe(0x40); // RSV1: compressed
    server.receive(wire);
    expect((server.events.splice(0)[0] as TextMessage).data).toBe("again ".repeat(50));
    talk(client, server, "both restored ".repeat(10));
    expect([...client.errors, ...server.errors]).toEqual([]);
  });

  it("without restoreExtension restoring fails, saying what to pass", () => {
    const { server } = deflatePair();
    const snapshot = JSON.parse(JSON.stringify(persistConnection(server.actor))) as Snapshot<unknown>;
    expect(() => restoreConnection(snapshot, { type: ConnectionType.SERVER })).toThrow(/permessage-deflate: restore it with input\.restoreExtension/);
  });

  it("a plain actor.getPersistedSnapshot() of a deflate connection does not walk into the codec; its JSON is the description", () => {
    const { server } = deflatePair();
    const plain = server.actor.getPersistedSnapshot();
    expect(JSON.parse(JSON.stringify(plain))).toEqual(JSON.parse(JSON.stringify(persistConnection(server.actor))));
  });
});

describe("restoreConnection refuses what it cannot restore", () => {
  it("a snapshot of the other role", () => {
    const { server } = handshake();
    const snapshot = JSON.parse(JSON.stringify(persistConnection(server.actor))) as Snapshot<unknown>;
    expect(() => restoreConnection(snapshot, { type: ConnectionType.CLIENT })).toThrow(/persisted connection is a server's; input.type says client/);
  });

  it("a snapshot that holds no connection", () => {
    const other = createActor(echoServerMachine, { input: { write: () => {} } }).start();
    const persisted = other.getPersistedSnapshot() as { children?: Record<string, unknown> };
    const withoutChildren = { ...persisted, children: {} } as unknown as Snapshot<unknown>;
    expect(() => restoreConnection(withoutChildren)).toThrow(/not a persisted wsmachine connection: .*persistConnection/);
  });

  it("a persisted snapshot given to createActor without restoreConnection fails on its first event, saying what to do", () => {
    const { server } = handshake();
    const snapshot = JSON.parse(JSON.stringify(persistConnection(server.actor))) as Snapshot<unknown>;
    const actor = createActor(connectionMachine, { input: { type: ConnectionType.SERVER }, snapshot }).start();
    actor.subscribe({ error: () => {} });
    actor.send({ type: "ws.send", event: new TextMessage({ data: "hi" }) });
    expect(actor.getSnapshot().status).toBe("error");
    expect(String(actor.getSnapshot().error)).toMatch(/persisted description, not a live protocol core: .*restoreConnection/);
  });

  it("a live snapshot is not shared: its core is rebuilt from its description", () => {
    const { server } = handshake();
    const restored = restoreConnection(server.actor.getSnapshot() as Snapshot<unknown>) as unknown as { context: { core: unknown } };
    expect(restored.context.core).not.toBe(server.actor.getSnapshot().context.core);
  });
});

describe("what is not restored", () => {
  it("a partially received frame: the restored end reads from a frame boundary, so the rest of that frame is garbage to it", () => {
    const { client, server } = handshake();
    client.send(new TextMessage({ data: "split across the persist" }));
    const frame = client.written();
    // Only the first header byte arrives before persisting.
    server.receive(frame.subarray(0, 1));
    expect(server.types()).toEqual([]);
    const restored = persistAndRestore(server, ConnectionType.SERVER);
    restored.receive(frame.subarray(1));
    // The second header byte (mask bit + length 24: 0x98) now reads as a first one, with RSV3
    // set and no extension claiming it: the connection fails with 1002.
    const [event] = restored.events;
    expect(event).toBeInstanceOf(CloseConnection);
    expect((event as CloseConnection).code).toBe(1002);
  });
});

describe("restoring a WSConnection and an invoked child", () => {
  it("new WSConnection(type, { snapshot }) resumes where ws.actor was persisted", () => {
    const client = new WSConnection(ConnectionType.CLIENT);
    const server = new WSConnection(ConnectionType.SERVER);
    server.receiveData(client.send(new Request({ host: "h", target: "/" })));
    drain(server);
    client.receiveData(server.send(new AcceptConnection()));
    drain(client);
    // A plain getPersistedSnapshot() through JSON works too: the core's toJSON is its description.
    const snapshot = JSON.parse(JSON.stringify(server.actor.getPersistedSnapshot())) as Snapshot<unknown>;
    const frames: string[] = [];
    const restored = new WSConnection(ConnectionType.SERVER, { snapshot, frameTrace: (frame) => frames.push(`${frame.direction} ${frame.opcode}`) });
    expect(restored.state).toBe(ConnectionState.OPEN);
    restored.receiveData(copy(client.send(new TextMessage({ data: "to the restored server" }))));
    expect((drain(restored)[0] as TextMessage).data).toBe("to the restored server");
    client.receiveData(restored.send(new TextMessage({ data: "from it" })));
    expect((drain(client)[0] as TextMessage).data).toBe("from it");
    // The restored connection's own options (its frame trace) apply.
    expect(frames).toEqual(["in 1", "out 1"]);

    restored.receiveData(copy(client.send(new CloseConnection({ code: 1000 }))));
    const [close] = drain(restored);
    expect(restored.state).toBe(ConnectionState.REMOTE_CLOSING);
    const again = new WSConnection(ConnectionType.SERVER, { snapshot: JSON.parse(JSON.stringify(persistConnection(restored.actor))) as Snapshot<unknown> });
    expect(again.state).toBe(ConnectionState.REMOTE_CLOSING);
    client.receiveData(again.send((close as CloseConnection).response()));
    expect(again.state).toBe(ConnectionState.CLOSED);
    drain(client);
    expect(client.state).toBe(ConnectionState.CLOSED);
  });

  it("a parent machine persisted with its connection child restores the child from the description alone", () => {
    const written: Uint8Array[] = [];
    const write = (data: Uint8Array) => written.push(data);
    const parent = createActor(echoServerMachine, { input: { write } }).start();
    const client = new WSConnection(ConnectionType.CLIENT);
    parent.send({ type: "socket.data", data: client.send(new Request({ host: "h", target: "/" })) });
    for (const chunk of written.splice(0)) client.receiveData(chunk);
    expect(drain(client).map((event) => event.type)).toEqual(["AcceptConnection"]);

    // The parent's context holds a function (write), so no JSON here; the child's part is plain data.
    const persisted = persistConnection(parent) as unknown as { children: { connection: { snapshot: { context: PersistedConnectionContext } } } };
    expect(Object.getPrototypeOf(persisted.children.connection.snapshot.context.core)).toBe(Object.prototype);
    expect(persisted.children.connection.snapshot.context.core.version).toBe(1);
    parent.stop();
    const snapshot = restoreConnection(persisted as unknown as Snapshot<unknown>);
    const restored = createActor(echoServerMachine, { input: { write }, snapshot }).start();
    restored.send({ type: "socket.data", data: copy(client.send(new TextMessage({ data: "echo after restore" }))) });
    for (const chunk of written.splice(0)) client.receiveData(chunk);
    expect((drain(client)[0] as TextMessage).data).toBe("echo after restore");
  });
});
