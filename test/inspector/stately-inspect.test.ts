/**
 * The Stately recipe: @statelyai/inspect (an optional devDependency, never needed by the core)
 * watching connections through the `inspect` option. No network beyond 127.0.0.1: once with
 * `createInspector` and an adapter that collects what it is sent, once with
 * `createWebSocketInspector` pointed at a receiver served by wsmachine itself.
 */
import { createInspector, createWebSocketInspector, type StatelyInspectionEvent } from "@statelyai/inspect";
import { describe, expect, it } from "vitest";
import { createActor, type AnyEventObject } from "xstate";
import { AcceptConnection, ConnectionType, Request, TextMessage, WSConnection, connectionMachine } from "../../src/index.js";
import { createWebSocketServer } from "../../src/node/index.js";
import { drain } from "../helpers/pair.js";

/** The recipe's event sanitizer: byte payloads (ws.receive, ws.output) shown as their length. */
function sanitizeEvent(event: AnyEventObject): AnyEventObject {
  const data: unknown = event.data;
  return data instanceof Uint8Array ? { ...event, data: `${data.length} bytes` } : event;
}

function handshake(client: WSConnection, server: WSConnection): void {
  server.receiveData(client.send(new Request({ host: "example.com", target: "/chat" })));
  drain(server);
  client.receiveData(server.send(new AcceptConnection()));
  drain(client);
}

/** The inspector hands events to its adapter on a later turn (an idle callback): wait for `ready`. */
async function until(ready: () => boolean, what: string, timeout = 3000): Promise<void> {
  for (const started = Date.now(); !ready(); ) {
    if (Date.now() - started > timeout) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function snapshotValues(events: readonly StatelyInspectionEvent[], sessionId: string): unknown[] {
  return events.flatMap((event) => (event.type === "@xstate.snapshot" && event.sessionId === sessionId ? [(event.snapshot as unknown as { value: unknown }).value] : []));
}

describe("@statelyai/inspect with wsmachine connections", () => {
  it("createInspector's inspect observer, passed as WSConnection's inspect option, receives the actor, its events and snapshots", async () => {
    const received: StatelyInspectionEvent[] = [];
    const inspector = createInspector({ send: (event) => received.push(event) }, { sanitizeEvent });
    const client = new WSConnection(ConnectionType.CLIENT, { inspect: inspector.inspect });
    const server = new WSConnection(ConnectionType.SERVER);
    handshake(client, server);
    const session = client.actor.sessionId;
    await until(() => snapshotValues(received, session).length === 3, "three snapshots");

    const actor = received.find((event) => event.type === "@xstate.actor" && event.sessionId === session);
    expect(actor).toMatchObject({ name: "wsConnection" });
    // The definition it is sent is the statechart itself (Stately's viewers draw it from this).
    expect(JSON.parse((actor as { definition: string }).definition)).toMatchObject({ id: "wsConnection", initial: "CONNECTING" });
    expect(snapshotValues(received, session)).toEqual([{ CONNECTING: "readyToRequest" }, { CONNECTING: "awaitingResponse" }, { OPEN: "active" }]);
    const eventTypes = received.flatMap((event) => (event.type === "@xstate.event" && event.sessionId === session ? [(event.event as AnyEventObject).type] : []));
    expect(eventTypes).toEqual(["xstate.init", "ws.send", "peer.accepted"]);
    // The context's protocol core arrives as its plain description, not the codec's internals.
    const last = received.filter((event) => event.type === "@xstate.snapshot" && event.sessionId === session).at(-1)!;
    expect((last as { snapshot: { context: { core: unknown } } }).snapshot.context.core).toMatchObject({ version: 1, role: "client", frames: { decoding: true, encoding: true } });
    expect(() => JSON.stringify(received)).not.toThrow();
  });

  it("sanitizeEvent turns an actor's byte payloads into their length", async () => {
    const received: StatelyInspectionEvent[] = [];
    const inspector = createInspector({ send: (event) => received.push(event) }, { sanitizeEvent });
    const actor = createActor(connectionMachine, { input: { type: ConnectionType.SERVER }, inspect: inspector.inspect }).start();
    const request = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    actor.send({ type: "ws.receive", data: request });
    await until(() => received.some((event) => event.type === "@xstate.event" && (event.event as AnyEventObject).type === "ws.receive"), "the ws.receive event");
    const receiveEvent = received.find((event) => event.type === "@xstate.event" && (event.event as AnyEventObject).type === "ws.receive")!;
    expect((receiveEvent as { event: AnyEventObject }).event.data).toBe(`${request.length} bytes`);
    expect(snapshotValues(received, actor.sessionId).at(-1)).toEqual({ CONNECTING: "requestReceived" });
    actor.stop();
  });

  it("createWebSocketInspector sends the same over a WebSocket: here to a receiver served by wsmachine on 127.0.0.1", async () => {
    const messages: StatelyInspectionEvent[] = [];
    const receiver = createWebSocketServer({}, (endpoint) => {
      endpoint.on("message", (data) => messages.push(JSON.parse(String(data)) as StatelyInspectionEvent));
    });
    await receiver.listen(0, "127.0.0.1");
    const inspector = createWebSocketInspector({ url: receiver.url, sanitizeEvent });
    try {
      const client = new WSConnection(ConnectionType.CLIENT, { inspect: inspector.inspect });
      const server = new WSConnection(ConnectionType.SERVER, { inspect: inspector.inspect });
      handshake(client, server);
      // Messages do not pass through the actor: they are not inspection events.
      server.receiveData(client.send(new TextMessage({ data: "not an inspection event" })));
      drain(server);
      await until(() => snapshotValues(messages, server.actor.sessionId).length === 3, "the server's snapshots over the WebSocket");
      expect(snapshotValues(messages, server.actor.sessionId)).toEqual([{ CONNECTING: "awaitingRequest" }, { CONNECTING: "requestReceived" }, { OPEN: "active" }]);
      expect(snapshotValues(messages, client.actor.sessionId).at(-1)).toEqual({ OPEN: "active" });
      expect(JSON.stringify(messages)).not.toContain("not an inspection event");
    } finally {
      inspector.stop();
      await receiver.close();
    }
  });
});
