/**
 * The LocalProtocolError a mistaken `send` raises says what was wrong and what to do instead,
 * for the mistakes a new user makes first (README, "Errors").
 */
import { describe, expect, it } from "vitest";
import {
  AcceptConnection,
  CloseConnection,
  ConnectionState,
  ConnectionType,
  LocalProtocolError,
  Ping,
  Request,
  TextMessage,
  WSConnection,
  sendRefusal,
  type Event,
} from "../../src/index.js";
import { recordedActor } from "../helpers/actor.js";

function refusal(send: () => unknown): string {
  try {
    send();
  } catch (error) {
    expect(error).toBeInstanceOf(LocalProtocolError);
    return (error as Error).message;
  }
  throw new Error("send() did not refuse");
}

/** A client and a server whose handshake is done, and the server has received the client's close. */
function remoteClosingServer(): WSConnection {
  const client = new WSConnection(ConnectionType.CLIENT);
  const server = new WSConnection(ConnectionType.SERVER);
  server.receiveData(client.send(new Request({ host: "example.com", target: "/" })));
  [...server.events()];
  client.receiveData(server.send(new AcceptConnection()));
  server.receiveData(client.send(new CloseConnection({ code: 1000 })));
  [...server.events()];
  expect(server.state).toBe(ConnectionState.REMOTE_CLOSING);
  return server;
}

describe("send() refusals name the mistake", () => {
  it("a second Request: already sent, not 'cannot be sent in state CONNECTING'", () => {
    const client = new WSConnection(ConnectionType.CLIENT);
    client.send(new Request({ host: "example.com", target: "/" }));
    expect(refusal(() => client.send(new Request({ host: "example.com", target: "/" })))).toBe(
      "Request was already sent (the connection is CONNECTING): a client sends one opening handshake (RFC 6455 §4.1)",
    );
  });

  it("a Request sent by a server: the client sends it", () => {
    const server = new WSConnection(ConnectionType.SERVER);
    expect(refusal(() => server.send(new Request({ host: "example.com", target: "/" })))).toContain(
      "Request cannot be sent by a server: the client sends it",
    );
  });

  it("anything but the close reply in REMOTE_CLOSING: send event.response()", () => {
    const server = remoteClosingServer();
    for (const event of [new TextMessage({ data: "late" }), new Ping()]) {
      expect(refusal(() => server.send(event))).toBe(
        `${event.type} cannot be sent in state REMOTE_CLOSING: the peer has closed, and all that may follow is ` +
          "the close reply, `event.response()` of the CloseConnection received (RFC 6455 §5.5.1)",
      );
    }
    expect(server.state).toBe(ConnectionState.REMOTE_CLOSING);
  });

  it("the class instead of an instance: no class source pasted into the message", () => {
    const client = new WSConnection(ConnectionType.CLIENT);
    const message = refusal(() => client.send(Request as unknown as Event));
    expect(message).toBe("send() takes a wsmachine Event, not the class Request itself, not an event (create one: `new Request({ … })`)");
  });

  it("the Fetch API's Request (a forgotten import): says which import is missing", () => {
    const client = new WSConnection(ConnectionType.CLIENT);
    const fetchRequest = new globalThis.Request("http://example.com/chat");
    expect(refusal(() => client.send(fetchRequest as unknown as Event))).toContain(
      "the Fetch API's Request, not wsmachine's (a missing import: `import { Request } from \"wsmachine\"`)",
    );
    expect(client.state).toBe(ConnectionState.CONNECTING);
  });

  it("a close code given as a string (plain JS) and a reason over 123 bytes", () => {
    const server = remoteClosingServer();
    expect(refusal(() => server.send(new CloseConnection({ code: "1000" as unknown as number })))).toContain(
      'close status code must be a number, not the string "1000"',
    );
    expect(refusal(() => server.send(new CloseConnection({ code: 1000, reason: "r".repeat(124) })))).toContain(
      "close reason is 124 bytes of UTF-8, more than the 123 a close frame carries",
    );
    expect(server.state).toBe(ConnectionState.REMOTE_CLOSING);
    server.send(new CloseConnection({ code: 1000, reason: "r".repeat(123) }));
    expect(server.state).toBe(ConnectionState.CLOSED);
  });

  it("a bare actor ignores the same sends, and sendRefusal names the same mistakes", () => {
    const client = recordedActor(ConnectionType.CLIENT);
    client.send(new Request({ host: "example.com", target: "/" }));
    const again = new Request({ host: "example.com", target: "/" });
    const notAnEvent = AcceptConnection as unknown as Event;
    const snapshot = client.actor.getSnapshot();
    expect([again, notAnEvent].map((event) => snapshot.can({ type: "ws.send", event }))).toEqual([false, false]);
    expect([again, notAnEvent].map((event) => sendRefusal(snapshot, event)?.message)).toEqual([
      "Request was already sent (the connection is CONNECTING): a client sends one opening handshake (RFC 6455 §4.1)",
      "ws.send takes a wsmachine Event, not the class AcceptConnection itself, not an event (create one: `new AcceptConnection({ … })`)",
    ]);
    client.send(again);
    client.send(notAnEvent);
    expect(client.errors).toEqual([]);
    expect(client.actor.getSnapshot().value).toEqual({ CONNECTING: "awaitingResponse" });
  });
});
