/**
 * RFC 6455 §7.1.7: once the connection is failed, the peer's later bytes are discarded. That must
 * hold however the application reads events (it may stop iterating `events()` right at the
 * failure's CloseConnection) and when `connectionMachine` is embedded as an actor, where the next
 * `ws.receive` after a failure must not throw inside an action (the actor would enter its error
 * state and XState would rethrow the error out of band, crashing the process).
 */
import { describe, expect, it } from "vitest";
import { createActor } from "xstate";
import {
  AcceptConnection,
  CloseConnection,
  ConnectionState,
  ConnectionType,
  LocalProtocolError,
  connectionMachine,
  type Event,
} from "../../src/index.js";
import { open } from "./driver.js";
import { OP, ROLES, closeBody, peerFrame, peerFrames, readClose, upgradeRequest } from "./wire.js";

describe.each(ROLES)("input after a failure, %s receiving", (role) => {
  const bad = () => peerFrame(role, { opcode: 0x3, payload: "reserved" });
  const more = () => peerFrames(role, { opcode: OP.TEXT, payload: "later" }, { opcode: OP.CLOSE, payload: closeBody(1000) });

  it("an application that stops reading events at the failure can still feed bytes (they are discarded)", () => {
    const { conn } = open(role);
    conn.receiveData(bad());
    let failure: CloseConnection | null = null;
    for (const event of conn.events()) {
      if (event instanceof CloseConnection) {
        failure = event;
        break; // stop reading here, as an application answering at once would
      }
    }
    expect(failure?.code).toBe(1002);
    expect(() => conn.receiveData(more())).not.toThrow();
    expect([...conn.events()]).toEqual([]);
    expect(readClose(conn.send(failure!.response())).code).toBe(1002);
    expect(() => conn.receiveData(more())).not.toThrow();
    conn.receiveData(null);
    expect([...conn.events()]).toEqual([]);
    expect(conn.state).toBe(ConnectionState.CLOSED);
  });

  it("the same when the application answers inside the loop and then stops", () => {
    const { conn } = open(role);
    conn.receiveData(bad());
    const iterator = conn.events();
    const first = iterator.next().value as CloseConnection;
    conn.send(first.response());
    expect(conn.state).toBe(ConnectionState.LOCAL_CLOSING);
    expect(() => conn.receiveData(more())).not.toThrow();
    conn.receiveData(null);
    expect([...conn.events()]).toEqual([]);
    expect(conn.state).toBe(ConnectionState.CLOSED);
    expect(() => conn.receiveData(more())).toThrow(LocalProtocolError);
  });
});

describe("connectionMachine as an actor: input after a failure", () => {
  it("a server actor: bad frame, answered, then more bytes: no error status, CLOSED at EOF", () => {
    const actor = createActor(connectionMachine, { input: { type: ConnectionType.SERVER } });
    const events: Event[] = [];
    const errors: Error[] = [];
    actor.on("ws.event", (emitted) => events.push(emitted.event));
    actor.on("ws.error", (emitted) => errors.push(emitted.error));
    actor.start();
    actor.send({ type: "ws.receive", data: upgradeRequest() });
    actor.send({ type: "ws.send", event: new AcceptConnection() });
    actor.send({ type: "ws.receive", data: peerFrame("server", { opcode: 0xb }) });
    const failure = events.at(-1) as CloseConnection;
    expect(failure.code).toBe(1002);
    expect(actor.getSnapshot().value).toEqual({ OPEN: "failed" });
    // More bytes before the application answered, then the answer, then more bytes again.
    actor.send({ type: "ws.receive", data: peerFrame("server", { opcode: OP.TEXT, payload: "x" }) });
    expect(actor.getSnapshot().status).toBe("active");
    actor.send({ type: "ws.send", event: failure.response() });
    actor.send({ type: "ws.receive", data: peerFrame("server", { opcode: OP.PING }) });
    expect(actor.getSnapshot().status).toBe("active");
    expect(actor.getSnapshot().value).toEqual({ LOCAL_CLOSING: "failed" });
    actor.send({ type: "ws.receive", data: null });
    expect(actor.getSnapshot().status).toBe("done");
    expect(events.map((event) => event.type)).toEqual(["Request", "CloseConnection"]);
    expect(errors).toEqual([]);
  });
});
