import { describe, expect, it } from "vitest";
import { createActor, type InspectionEvent } from "xstate";
import {
  AcceptConnection,
  CloseConnection,
  ConnectionState,
  ConnectionType,
  LocalProtocolError,
  Ping,
  RemoteProtocolError,
  Request,
  TextMessage,
  WSConnection,
  sendRefusal,
} from "../../src/index.js";
import { echoServerMachine } from "../../examples/echo-server-machine.js";
import { copy, drain } from "../helpers/pair.js";
import { recordedActor } from "../helpers/actor.js";

describe("connectionMachine as an actor", () => {
  it("runs a whole life through ws.receive / ws.send and emit", () => {
    const client = recordedActor(ConnectionType.CLIENT);
    const server = recordedActor(ConnectionType.SERVER);
    client.actor.send({ type: "ws.send", event: new Request({ host: "h", target: "/" }) });
    server.actor.send({ type: "ws.receive", data: client.written() });
    expect(server.events.map((event) => event.type)).toEqual(["Request"]);
    server.actor.send({ type: "ws.send", event: new AcceptConnection() });
    expect(server.state()).toBe("OPEN");
    // The accept and a first message in one chunk: the client reads both.
    server.actor.send({ type: "ws.send", event: new TextMessage({ data: "welcome" }) });
    client.actor.send({ type: "ws.receive", data: server.written() });
    expect(client.events.map((event) => event.type)).toEqual(["AcceptConnection", "TextMessage"]);
    expect(client.state()).toBe("OPEN");

    client.actor.send({ type: "ws.send", event: new Ping({ payload: new Uint8Array([9]) }) });
    client.actor.send({ type: "ws.send", event: new CloseConnection({ code: 1000, reason: "done" }) });
    expect(client.state()).toBe("LOCAL_CLOSING");
    server.actor.send({ type: "ws.receive", data: client.written() });
    expect(server.events.map((event) => event.type)).toEqual(["Request", "Ping", "CloseConnection"]);
    expect(server.state()).toBe("REMOTE_CLOSING");
    server.actor.send({ type: "ws.send", event: (server.events[2] as CloseConnection).response() });
    expect(server.state()).toBe("CLOSED");
    expect(server.actor.getSnapshot().status).toBe("done");
    client.actor.send({ type: "ws.receive", data: server.written() });
    expect(client.state()).toBe("CLOSED");
    expect(client.actor.getSnapshot().context.closeCode).toBe(1000);
    expect([...client.errors, ...server.errors]).toEqual([]);
  });

  it("ignores a refused ws.send (snapshot.can says no, sendRefusal says why), emits nothing and stays alive", async () => {
    const client = recordedActor(ConnectionType.CLIENT);
    const early = new TextMessage({ data: "too early" });
    expect(client.actor.getSnapshot().can({ type: "ws.send", event: early })).toBe(false);
    expect(sendRefusal(client.actor.getSnapshot(), early)?.message).toMatch(/TextMessage cannot be sent by a client in state CONNECTING/);
    client.actor.send({ type: "ws.send", event: early });
    client.actor.send({ type: "ws.send", event: new AcceptConnection() });
    expect(client.errors).toEqual([]);
    expect(client.written()).toHaveLength(0);
    expect(client.actor.getSnapshot().value).toEqual({ CONNECTING: "readyToRequest" });
    // An XState action error would surface later from a timer; give it the chance.
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(client.actor.getSnapshot().status).toBe("active");
    const request = new Request({ host: "h", target: "/" });
    expect(sendRefusal(client.actor.getSnapshot(), request)).toBeNull();
    client.actor.send({ type: "ws.send", event: request });
    expect(client.actor.getSnapshot().value).toEqual({ CONNECTING: "awaitingResponse" });
  });

  it("still reports the peer's handshake errors as ws.error (RemoteProtocolError)", () => {
    const server = recordedActor(ConnectionType.SERVER);
    server.receive(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
    expect(server.errors).toHaveLength(1);
    expect(server.errors[0]).toBeInstanceOf(RemoteProtocolError);
    expect(server.value()).toEqual({ CONNECTING: "requestInvalid" });
  });

  it("a WSConnection's LocalProtocolError reaches the caller synchronously, actor alive", async () => {
    const server = new WSConnection(ConnectionType.SERVER);
    expect(() => server.send(new CloseConnection({ code: 1000 }))).toThrow(LocalProtocolError);
    expect(() => server.send(new AcceptConnection())).toThrow(LocalProtocolError);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(server.actor.getSnapshot().status).toBe("active");
    expect(server.state).toBe(ConnectionState.CONNECTING);
  });
});

describe("embedding: a parent machine invoking connectionMachine", () => {
  it("the example echo server talks to its child only with events", () => {
    const written: Uint8Array[] = [];
    const parent = createActor(echoServerMachine, { input: { write: (data) => written.push(data) } }).start();
    const client = new WSConnection(ConnectionType.CLIENT);
    const toServer = (bytes: Uint8Array) => parent.send({ type: "socket.data", data: bytes });
    const fromServer = () => {
      for (const chunk of written.splice(0)) client.receiveData(copy(chunk));
      return drain(client);
    };
    toServer(client.send(new Request({ host: "h", target: "/" })));
    expect(fromServer().map((event) => event.type)).toEqual(["AcceptConnection"]);
    toServer(copy(client.send(new TextMessage({ data: "echo me" }))));
    toServer(copy(client.send(new Ping({ payload: new Uint8Array([1]) }))));
    const echoed = fromServer();
    expect(echoed.map((event) => event.type)).toEqual(["TextMessage", "Pong"]);
    expect((echoed[0] as TextMessage).data).toBe("echo me");
    toServer(copy(client.send(new CloseConnection({ code: 1000 }))));
    expect(fromServer().map((event) => event.type)).toEqual(["CloseConnection"]);
    expect(client.state).toBe(ConnectionState.CLOSED);
    expect(parent.getSnapshot().context.echoed).toBe(1);
    expect(parent.getSnapshot().context.closeCode).toBe(1000);
    expect(parent.getSnapshot().status).toBe("done");
  });
});

describe("inspection", () => {
  function lifecycle(inspected: InspectionEvent[], actor: unknown): string[] {
    const states: string[] = [];
    for (const event of inspected) {
      if (event.type !== "@xstate.snapshot" || event.actorRef !== actor) continue;
      const value = (event.snapshot as unknown as { value: unknown }).value;
      const name = typeof value === "string" ? value : `${Object.keys(value as object)[0]}.${Object.values(value as object)[0]}`;
      if (states.at(-1) !== name) states.push(name);
    }
    return states;
  }

  it("shows every lifecycle transition of a client and a server", () => {
    const inspected: InspectionEvent[] = [];
    const inspect = (event: InspectionEvent) => inspected.push(event);
    const client = new WSConnection(ConnectionType.CLIENT, { inspect });
    const server = new WSConnection(ConnectionType.SERVER, { inspect });
    server.receiveData(client.send(new Request({ host: "h", target: "/" })));
    drain(server);
    client.receiveData(server.send(new AcceptConnection()));
    drain(client);
    server.receiveData(copy(client.send(new TextMessage({ data: "hi" }))));
    drain(server);
    server.receiveData(copy(client.send(new CloseConnection({ code: 1000 }))));
    const [close] = drain(server);
    client.receiveData(server.send((close as CloseConnection).response()));
    drain(client);

    expect(lifecycle(inspected, client.actor)).toEqual([
      "CONNECTING.readyToRequest",
      "CONNECTING.awaitingResponse",
      "OPEN.active",
      "LOCAL_CLOSING.awaitingClose",
      "CLOSED",
    ]);
    expect(lifecycle(inspected, server.actor)).toEqual([
      "CONNECTING.awaitingRequest",
      "CONNECTING.requestReceived",
      "OPEN.active",
      "REMOTE_CLOSING",
      "CLOSED",
    ]);
    // The events that moved the statechart are visible too (lifecycle only: messages are not).
    const sent = inspected
      .filter((event) => event.type === "@xstate.event" && event.actorRef === server.actor)
      .map((event) => (event as { event: { type: string } }).event.type);
    expect(sent).toEqual(["xstate.init", "peer.request", "ws.send", "peer.close", "ws.send"]);
  });
});

describe("guards have no effect on the wire", () => {
  it("snapshot.can() for a message encodes nothing (the compressor's history stays in step)", async () => {
    const { PerMessageDeflate } = await import("../../src/index.js");
    const { openPair } = await import("../helpers/pair.js");
    const pair = openPair({
      request: new Request({ host: "h", target: "/", extensions: [new PerMessageDeflate({ threshold: 0 })] }),
      accept: new AcceptConnection({ extensions: [new PerMessageDeflate({ threshold: 0 })] }),
    });
    const text = "the same words again and again, ".repeat(40);
    const first = pair.clientSends(new TextMessage({ data: text }));
    expect((first[0] as TextMessage).data).toBe(text);
    // Asking the statechart whether a message could be sent must not run the encoder: if it
    // did, the compressor would remember words the peer never saw and refer back to them.
    const unseen = "a phrase the peer has not seen: zzzz qqqq zzzz qqqq";
    expect(pair.client.actor.getSnapshot().can({ type: "ws.send", event: new TextMessage({ data: unseen }) })).toBe(true);
    for (let i = 0; i < 3; i++) {
      const received = pair.clientSends(new TextMessage({ data: unseen + i }));
      expect(received.map((event) => event.type)).toEqual(["TextMessage"]);
      expect((received[0] as TextMessage).data).toBe(unseen + i);
    }
  });
});
