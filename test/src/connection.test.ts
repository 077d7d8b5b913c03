import { describe, expect, it } from "vitest";
import {
  AcceptConnection,
  BytesMessage,
  CloseConnection,
  Connection,
  ConnectionState,
  ConnectionType,
  LocalProtocolError,
  Ping,
  Pong,
  RejectConnection,
  RejectData,
  RemoteProtocolError,
  Request,
  TextMessage,
  WSConnection,
  type Event,
} from "../../src/index.js";
import { copy, drain, openPair } from "../helpers/pair.js";

const encoder = new TextEncoder();

function types(events: Event[]): string[] {
  return events.map((event) => event.type);
}

/** A server frame (unmasked) written out by hand. */
function serverFrame(firstByte: number, payload: number[] = []): Uint8Array {
  return new Uint8Array([firstByte, payload.length, ...payload]);
}

/** A client frame masked with the key 0,0,0,0 (so the payload is as written). */
function clientFrame(firstByte: number, payload: number[] = []): Uint8Array {
  return new Uint8Array([firstByte, 0x80 | payload.length, 0, 0, 0, 0, ...payload]);
}

describe("WSConnection: the opening handshake", () => {
  it("tells which side it plays", () => {
    expect(new WSConnection(ConnectionType.CLIENT).role).toBe(ConnectionType.CLIENT);
    expect(new WSConnection(ConnectionType.SERVER).role).toBe(ConnectionType.SERVER);
    expect(new Connection(ConnectionType.SERVER).role).toBe(ConnectionType.SERVER);
  });

  it("client and server agree, and the state changes when each event is produced", () => {
    const client = new WSConnection(ConnectionType.CLIENT);
    const server = new WSConnection(ConnectionType.SERVER);
    expect([client.state, server.state]).toEqual([ConnectionState.CONNECTING, ConnectionState.CONNECTING]);

    const requestBytes = client.send(new Request({ host: "example.com", target: "/chat", subprotocols: ["chat", "superchat"] }));
    expect(new TextDecoder().decode(requestBytes)).toMatch(/^GET \/chat HTTP\/1\.1\r\n/);
    expect(client.state).toBe(ConnectionState.CONNECTING);

    server.receiveData(requestBytes);
    const [request] = drain(server);
    expect(request).toBeInstanceOf(Request);
    expect((request as Request).subprotocols).toEqual(["chat", "superchat"]);
    expect((request as Request).host).toBe("example.com");
    expect(server.state).toBe(ConnectionState.CONNECTING);

    const responseBytes = server.send(new AcceptConnection({ subprotocol: "chat" }));
    expect(server.state).toBe(ConnectionState.OPEN);
    client.receiveData(responseBytes);
    expect(client.state).toBe(ConnectionState.OPEN); // changed in receiveData, as wsproto's handshake
    const [accept] = drain(client);
    expect(accept).toBeInstanceOf(AcceptConnection);
    expect((accept as AcceptConnection).subprotocol).toBe("chat");
  });

  it("keeps frames that arrive in the same chunk as the request (README, Differences from wsproto #4)", () => {
    const client = new WSConnection(ConnectionType.CLIENT);
    const server = new WSConnection(ConnectionType.SERVER);
    const requestBytes = client.send(new Request({ host: "h", target: "/" }));
    const frame = clientFrame(0x81, [...encoder.encode("hi")]);
    server.receiveData(new Uint8Array([...requestBytes, ...frame]));
    expect(types(drain(server))).toEqual(["Request"]);
    server.send(new AcceptConnection());
    const events = drain(server);
    expect(types(events)).toEqual(["TextMessage"]);
    expect((events[0] as TextMessage).data).toBe("hi");
  });

  it("keeps frames that arrive in the same chunk as the response", () => {
    const client = new WSConnection(ConnectionType.CLIENT);
    const server = new WSConnection(ConnectionType.SERVER);
    server.receiveData(client.send(new Request({ host: "h", target: "/" })));
    drain(server);
    const accept = server.send(new AcceptConnection());
    const hello = server.send(new TextMessage({ data: "hello" }));
    client.receiveData(new Uint8Array([...accept, ...hello]));
    const events = drain(client);
    expect(types(events)).toEqual(["AcceptConnection", "TextMessage"]);
    expect((events[1] as TextMessage).data).toBe("hello");
  });

  it("handles the handshake delivered one byte at a time", () => {
    const client = new WSConnection(ConnectionType.CLIENT);
    const server = new WSConnection(ConnectionType.SERVER);
    const requestBytes = client.send(new Request({ host: "h", target: "/x" }));
    for (const byte of requestBytes) server.receiveData(new Uint8Array([byte]));
    expect(types(drain(server))).toEqual(["Request"]);
    const responseBytes = server.send(new AcceptConnection());
    for (const byte of responseBytes) client.receiveData(new Uint8Array([byte]));
    expect(types(drain(client))).toEqual(["AcceptConnection"]);
    expect(client.state).toBe(ConnectionState.OPEN);
  });

  it("rejects with a body: REJECTING until the body is finished", () => {
    const client = new WSConnection(ConnectionType.CLIENT);
    const server = new WSConnection(ConnectionType.SERVER);
    server.receiveData(client.send(new Request({ host: "h", target: "/" })));
    drain(server);
    const head = server.send(new RejectConnection({ statusCode: 403, headers: [["content-length", "5"]], hasBody: true }));
    expect(server.state).toBe(ConnectionState.REJECTING);
    const body = server.send(new RejectData({ data: encoder.encode("nope!") }));
    expect(server.state).toBe(ConnectionState.CLOSED);
    client.receiveData(head);
    expect(client.state).toBe(ConnectionState.REJECTING);
    client.receiveData(body);
    const events = drain(client);
    expect(types(events)).toEqual(["RejectConnection", "RejectData"]);
    expect((events[0] as RejectConnection).statusCode).toBe(403);
    expect((events[0] as RejectConnection).hasBody).toBe(true);
    expect(new TextDecoder().decode((events[1] as RejectData).data)).toBe("nope!");
    expect((events[1] as RejectData).bodyFinished).toBe(true);
    expect(client.state).toBe(ConnectionState.CLOSED);
  });

  it("rejects without a body: CLOSED at once", () => {
    const client = new WSConnection(ConnectionType.CLIENT);
    const server = new WSConnection(ConnectionType.SERVER);
    server.receiveData(client.send(new Request({ host: "h", target: "/" })));
    drain(server);
    client.receiveData(server.send(new RejectConnection({ statusCode: 400 })));
    expect(server.state).toBe(ConnectionState.CLOSED);
    const events = drain(client);
    expect(types(events)).toEqual(["RejectConnection"]);
    expect((events[0] as RejectConnection).hasBody).toBe(false);
    expect(client.state).toBe(ConnectionState.CLOSED);
  });

  it("raises RemoteProtocolError from receiveData for a bad request, and lets the server send the hint", () => {
    const server = new WSConnection(ConnectionType.SERVER);
    let error: unknown;
    try {
      server.receiveData(encoder.encode("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(RemoteProtocolError);
    const hint = (error as RemoteProtocolError).eventHint;
    expect(hint).toBeInstanceOf(RejectConnection);
    expect(server.state).toBe(ConnectionState.CONNECTING);
    const bytes = server.send(hint!);
    expect(new TextDecoder().decode(bytes)).toMatch(/^HTTP\/1\.1 400 /);
    expect(server.state).toBe(ConnectionState.CLOSED);
  });

  it("refuses a subprotocol the client did not offer, changing nothing", () => {
    const client = new WSConnection(ConnectionType.CLIENT);
    const server = new WSConnection(ConnectionType.SERVER);
    server.receiveData(client.send(new Request({ host: "h", target: "/", subprotocols: ["a"] })));
    drain(server);
    expect(() => server.send(new AcceptConnection({ subprotocol: "b" }))).toThrow(LocalProtocolError);
    expect(server.state).toBe(ConnectionState.CONNECTING);
    expect(server.actor.getSnapshot().status).toBe("active");
    server.send(new AcceptConnection({ subprotocol: "a" }));
    expect(server.state).toBe(ConnectionState.OPEN);
  });

  it("initiateUpgradeConnection takes a request parsed by another HTTP stack", () => {
    const client = new WSConnection(ConnectionType.CLIENT);
    const requestText = new TextDecoder("latin1").decode(client.send(new Request({ host: "h", target: "/chat" })));
    const lines = requestText.split("\r\n").slice(1).filter((line) => line.length > 0);
    const headers = lines.map((line) => {
      const colon = line.indexOf(":");
      return [line.slice(0, colon), line.slice(colon + 1).trim()] as [string, string];
    });
    const server = new WSConnection(ConnectionType.SERVER);
    server.initiateUpgradeConnection(headers, "/chat");
    const [request] = drain(server);
    expect(request).toBeInstanceOf(Request);
    expect((request as Request).target).toBe("/chat");
    client.receiveData(server.send(new AcceptConnection()));
    expect(types(drain(client))).toEqual(["AcceptConnection"]);
    expect(() => server.initiateUpgradeConnection(headers, "/chat")).toThrow(LocalProtocolError);
    expect(() => client.initiateUpgradeConnection(headers, "/chat")).toThrow(LocalProtocolError);
  });
});

describe("WSConnection: data transfer", () => {
  it("exchanges text, binary, pings and pongs both ways", () => {
    const pair = openPair();
    const text = pair.clientSends(new TextMessage({ data: "héllo wörld ✓ 🎉" }));
    expect(types(text)).toEqual(["TextMessage"]);
    expect((text[0] as TextMessage).data).toBe("héllo wörld ✓ 🎉");

    const payload = new Uint8Array(70_000).map((_, index) => index % 251);
    const binary = pair.serverSends(new BytesMessage({ data: payload }));
    expect(types(binary)).toEqual(["BytesMessage"]);
    expect((binary[0] as BytesMessage).data).toEqual(payload);

    const ping = pair.clientSends(new Ping({ payload: new Uint8Array([1, 2, 3]) }));
    expect(types(ping)).toEqual(["Ping"]);
    const pong = pair.serverSends((ping[0] as Ping).response());
    expect(types(pong)).toEqual(["Pong"]);
    expect((pong[0] as Pong).payload).toEqual(new Uint8Array([1, 2, 3]));
  });

  it("carries fragmented messages with a ping between the fragments", () => {
    const pair = openPair();
    const first = pair.clientSends(new TextMessage({ data: "frag", messageFinished: false }));
    const ping = pair.clientSends(new Ping());
    const last = pair.clientSends(new TextMessage({ data: "ment", messageFinished: true }));
    expect(types([...first, ...ping, ...last])).toEqual(["TextMessage", "Ping", "TextMessage"]);
    expect((first[0] as TextMessage).messageFinished).toBe(false);
    expect((last[0] as TextMessage).messageFinished).toBe(true);
    expect((first[0] as TextMessage).data + (last[0] as TextMessage).data).toBe("fragment");
  });

  it("yields each pending event once", () => {
    const pair = openPair();
    pair.server.receiveData(copy(pair.client.send(new TextMessage({ data: "a" }))));
    pair.server.receiveData(copy(pair.client.send(new TextMessage({ data: "b" }))));
    expect(types(drain(pair.server))).toEqual(["TextMessage", "TextMessage"]);
    expect(drain(pair.server)).toEqual([]);
  });

  it("a protocol failure yields CloseConnection with the RFC's code; later input is discarded (README, Differences from wsproto #1)", () => {
    const pair = openPair();
    // An unmasked frame from a client: RFC 6455 §5.1 requires the server to fail with 1002.
    pair.server.receiveData(serverFrame(0x81, [0x68, 0x69]));
    pair.server.receiveData(clientFrame(0x81, [0x68, 0x69]));
    const events = drain(pair.server);
    expect(types(events)).toEqual(["CloseConnection"]);
    expect((events[0] as CloseConnection).code).toBe(1002);
    expect(pair.server.state).toBe(ConnectionState.OPEN);
    expect(pair.server.actor.getSnapshot().value).toEqual({ OPEN: "failed" });
    pair.server.receiveData(clientFrame(0x81, [0x68, 0x69]));
    expect(drain(pair.server)).toEqual([]);
    pair.client.receiveData(pair.server.send((events[0] as CloseConnection).response()));
    expect(pair.server.state).toBe(ConnectionState.LOCAL_CLOSING);
    const closing = drain(pair.client);
    expect(types(closing)).toEqual(["CloseConnection"]);
    expect((closing[0] as CloseConnection).code).toBe(1002);
  });

  it("invalid UTF-8 fails with 1007", () => {
    const pair = openPair();
    pair.client.receiveData(serverFrame(0x81, [0xc3, 0x28]));
    const events = drain(pair.client);
    expect(types(events)).toEqual(["CloseConnection"]);
    expect((events[0] as CloseConnection).code).toBe(1007);
  });

  it("a message over maxMessageSize fails with 1009", () => {
    const pair = openPair({ server: { maxMessageSize: 10 } });
    const events = pair.clientSends(new BytesMessage({ data: new Uint8Array(11) }));
    expect(types(events)).toEqual(["CloseConnection"]);
    expect((events[0] as CloseConnection).code).toBe(1009);
  });
});

describe("WSConnection: the closing handshake", () => {
  it("client-initiated: LOCAL_CLOSING then CLOSED; REMOTE_CLOSING then CLOSED", () => {
    const pair = openPair();
    const closeBytes = pair.client.send(new CloseConnection({ code: 1000, reason: "bye" }));
    expect(pair.client.state).toBe(ConnectionState.LOCAL_CLOSING);
    pair.server.receiveData(copy(closeBytes));
    expect(pair.server.state).toBe(ConnectionState.OPEN); // not yet: the event has not been produced
    const [close] = drain(pair.server);
    expect(close).toBeInstanceOf(CloseConnection);
    expect([(close as CloseConnection).code, (close as CloseConnection).reason]).toEqual([1000, "bye"]);
    expect(pair.server.state).toBe(ConnectionState.REMOTE_CLOSING);
    pair.client.receiveData(pair.server.send((close as CloseConnection).response()));
    expect(pair.server.state).toBe(ConnectionState.CLOSED);
    const [reply] = drain(pair.client);
    expect((reply as CloseConnection).code).toBe(1000);
    expect(pair.client.state).toBe(ConnectionState.CLOSED);
  });

  it("server-initiated, with data still arriving in LOCAL_CLOSING", () => {
    const pair = openPair();
    pair.client.receiveData(pair.server.send(new CloseConnection({ code: 1001 })));
    pair.server.receiveData(copy(pair.client.send(new TextMessage({ data: "late" }))));
    const [close] = drain(pair.client);
    expect(pair.client.state).toBe(ConnectionState.REMOTE_CLOSING);
    pair.server.receiveData(copy(pair.client.send((close as CloseConnection).response())));
    const events = drain(pair.server);
    expect(types(events)).toEqual(["TextMessage", "CloseConnection"]);
    expect(pair.server.state).toBe(ConnectionState.CLOSED);
  });

  it("answers an empty close frame with an empty close frame (1005)", () => {
    const pair = openPair();
    pair.client.receiveData(serverFrame(0x88));
    const [close] = drain(pair.client);
    expect((close as CloseConnection).code).toBe(1005);
    const reply = pair.client.send((close as CloseConnection).response());
    expect(reply.length).toBe(6); // header + mask key, no body
    expect(reply[1]! & 0x7f).toBe(0);
    expect(pair.client.state).toBe(ConnectionState.CLOSED);
  });

  it("refuses close codes the RFC forbids on the wire (README, Differences from wsproto #9)", () => {
    const pair = openPair();
    for (const code of [999, 1004, 1006, 1015, 1016, 2999, 5000]) {
      expect(() => pair.client.send(new CloseConnection({ code })), `code ${code}`).toThrow(LocalProtocolError);
      expect(pair.client.state).toBe(ConnectionState.OPEN);
    }
  });
});

describe("WSConnection: EOF in every state", () => {
  it("CONNECTING: CloseConnection(1006) and CLOSED (README, Differences from wsproto #3), an empty chunk is not EOF", () => {
    for (const type of [ConnectionType.CLIENT, ConnectionType.SERVER]) {
      const connection = new WSConnection(type);
      if (type === ConnectionType.CLIENT) connection.send(new Request({ host: "h", target: "/" }));
      connection.receiveData(new Uint8Array(0));
      expect(connection.state).toBe(ConnectionState.CONNECTING);
      connection.receiveData(null);
      expect(connection.state).toBe(ConnectionState.CLOSED);
      const events = drain(connection);
      expect(types(events)).toEqual(["CloseConnection"]);
      expect((events[0] as CloseConnection).code).toBe(1006);
    }
  });

  it("OPEN and LOCAL_CLOSING: frames first, then CloseConnection(1006)", () => {
    const pair = openPair();
    pair.server.receiveData(copy(pair.client.send(new TextMessage({ data: "last words" }))));
    pair.server.receiveData(null);
    expect(types(drain(pair.server))).toEqual(["TextMessage", "CloseConnection"]);
    expect(pair.server.state).toBe(ConnectionState.CLOSED);

    const other = openPair();
    other.client.send(new CloseConnection({ code: 1000 }));
    other.client.receiveData(null);
    const events = drain(other.client);
    expect(types(events)).toEqual(["CloseConnection"]);
    expect((events[0] as CloseConnection).code).toBe(1006);
    expect(other.client.state).toBe(ConnectionState.CLOSED);
  });

  it("REMOTE_CLOSING and CLOSED: no second CloseConnection (README, Differences from wsproto #2)", () => {
    const pair = openPair();
    pair.client.receiveData(pair.server.send(new CloseConnection({ code: 1000 })));
    drain(pair.client);
    expect(pair.client.state).toBe(ConnectionState.REMOTE_CLOSING);
    pair.client.receiveData(null);
    expect(drain(pair.client)).toEqual([]);
    expect(pair.client.state).toBe(ConnectionState.CLOSED);
    pair.client.receiveData(null);
    expect(drain(pair.client)).toEqual([]);
    expect(() => pair.client.receiveData(new Uint8Array([1]))).toThrow(LocalProtocolError);
  });

  it("REJECTING: a body read until EOF ends with bodyFinished", () => {
    const client = new WSConnection(ConnectionType.CLIENT);
    client.send(new Request({ host: "h", target: "/" }));
    client.receiveData(encoder.encode("HTTP/1.1 500 Oops\r\nConnection: close\r\n\r\npartial"));
    expect(client.state).toBe(ConnectionState.REJECTING);
    client.receiveData(encoder.encode(" body"));
    client.receiveData(null);
    const events = drain(client);
    expect(events[0]).toBeInstanceOf(RejectConnection);
    const body = events.slice(1) as RejectData[];
    expect(new TextDecoder().decode(new Uint8Array(body.flatMap((chunk) => [...chunk.data])))).toBe("partial body");
    expect(body.at(-1)!.bodyFinished).toBe(true);
    expect(client.state).toBe(ConnectionState.CLOSED);
  });
});

describe("WSConnection: every state × every sendable event", () => {
  type Role = "client" | "server";
  const sendables: Array<[string, () => Event]> = [
    ["Request", () => new Request({ host: "h", target: "/" })],
    ["AcceptConnection", () => new AcceptConnection()],
    ["RejectConnection", () => new RejectConnection({ hasBody: true })],
    ["RejectData", () => new RejectData({ data: new Uint8Array([1]), bodyFinished: false })],
    ["TextMessage", () => new TextMessage({ data: "x" })],
    ["BytesMessage", () => new BytesMessage({ data: new Uint8Array([1]) })],
    ["Ping", () => new Ping()],
    ["Pong", () => new Pong()],
    ["CloseConnection", () => new CloseConnection({ code: 1000 })],
  ];

  /** Connections brought to each reachable state, with the events allowed there (wsproto's ladder). */
  const states: Array<[Role, string, () => WSConnection, string[]]> = [
    ["client", "CONNECTING (nothing sent)", () => new WSConnection(ConnectionType.CLIENT), ["Request"]],
    [
      "client",
      "CONNECTING (request sent)",
      () => {
        const client = new WSConnection(ConnectionType.CLIENT);
        client.send(new Request({ host: "h", target: "/" }));
        return client;
      },
      [],
    ],
    ["server", "CONNECTING (awaiting request)", () => new WSConnection(ConnectionType.SERVER), []],
    [
      "server",
      "CONNECTING (request received)",
      () => {
        const server = new WSConnection(ConnectionType.SERVER);
        server.receiveData(new WSConnection(ConnectionType.CLIENT).send(new Request({ host: "h", target: "/" })));
        drain(server);
        return server;
      },
      ["AcceptConnection", "RejectConnection"],
    ],
    [
      "server",
      "REJECTING",
      () => {
        const server = new WSConnection(ConnectionType.SERVER);
        server.receiveData(new WSConnection(ConnectionType.CLIENT).send(new Request({ host: "h", target: "/" })));
        drain(server);
        server.send(new RejectConnection({ hasBody: true }));
        return server;
      },
      ["RejectData"],
    ],
    ...(["client", "server"] as Role[]).flatMap((role): Array<[Role, string, () => WSConnection, string[]]> => [
      ["client" === role ? "client" : "server", "OPEN", () => openPair()[role], ["TextMessage", "BytesMessage", "Ping", "Pong", "CloseConnection"]],
      [
        role,
        "LOCAL_CLOSING",
        () => {
          const connection = openPair()[role];
          connection.send(new CloseConnection({ code: 1000 }));
          return connection;
        },
        [],
      ],
      [
        role,
        "REMOTE_CLOSING",
        () => {
          const pair = openPair();
          const [self, peer] = role === "client" ? [pair.client, pair.server] : [pair.server, pair.client];
          self.receiveData(copy(peer.send(new CloseConnection({ code: 1000 }))));
          drain(self);
          return self;
        },
        ["CloseConnection"],
      ],
      [
        role,
        "CLOSED",
        () => {
          const connection = openPair()[role];
          connection.receiveData(null);
          drain(connection);
          return connection;
        },
        [],
      ],
    ]),
  ];

  for (const [role, label, make, allowed] of states) {
    for (const [name, build] of sendables) {
      const verdict = allowed.includes(name) ? "sends" : "refuses";
      it(`${role} in ${label} ${verdict} ${name}`, () => {
        const connection = make();
        const before = connection.actor.getSnapshot().value;
        if (allowed.includes(name)) {
          expect(connection.send(build()).length).toBeGreaterThan(0);
        } else {
          expect(() => connection.send(build())).toThrow(LocalProtocolError);
          // Nothing changed, and the actor is alive (no error status rethrown from a timer).
          expect(connection.actor.getSnapshot().value).toEqual(before);
          expect(connection.actor.getSnapshot().status).toBe(label.startsWith("CLOSED") ? "done" : "active");
        }
      });
    }
  }
});

describe("Connection (frames only)", () => {
  it("starts OPEN and reads trailing data as frames", () => {
    const server = new Connection(ConnectionType.SERVER, { trailingData: clientFrame(0x82, [1, 2, 3]) });
    expect(server.state).toBe(ConnectionState.OPEN);
    const events = drain(server);
    expect(types(events)).toEqual(["BytesMessage"]);
    expect((events[0] as BytesMessage).data).toEqual(new Uint8Array([1, 2, 3]));
    const client = new Connection(ConnectionType.CLIENT);
    server.receiveData(copy(client.send(new TextMessage({ data: "ok" }))));
    expect((drain(server)[0] as TextMessage).data).toBe("ok");
    expect(() => client.send(new Request({ host: "h", target: "/" }))).toThrow(LocalProtocolError);
  });
});

describe("frame trace", () => {
  it("reports every frame received and sent once OPEN, with close codes", () => {
    const records: Array<{ direction: string; opcode: number; length: number; frameFinished: boolean; closeCode?: number }> = [];
    const pair = openPair({ server: { frameTrace: (record) => records.push({ ...record }) } });
    pair.clientSends(new TextMessage({ data: "hello" }));
    pair.serverSends(new BytesMessage({ data: new Uint8Array(300) }));
    pair.clientSends(new Ping({ payload: new Uint8Array([1]) }));
    pair.clientSends(new CloseConnection({ code: 4001, reason: "x" }));
    pair.server.send(new CloseConnection({ code: 4001 }));
    expect(records).toEqual([
      { direction: "in", opcode: 1, length: 5, frameFinished: true },
      { direction: "out", opcode: 2, length: 300, frameFinished: true },
      { direction: "in", opcode: 9, length: 1, frameFinished: true },
      { direction: "in", opcode: 8, length: 3, frameFinished: true, closeCode: 4001 },
      { direction: "out", opcode: 8, length: 2, frameFinished: true, closeCode: 4001 },
    ]);
  });

  it("reads masked close codes of frames a client sends", () => {
    const records: Array<{ closeCode?: number; length: number }> = [];
    const pair = openPair({ client: { frameTrace: (record) => records.push({ ...record }) } });
    pair.client.send(new CloseConnection({ code: 1001, reason: "going" }));
    expect(records).toEqual([{ direction: "out", opcode: 8, length: 7, frameFinished: true, closeCode: 1001 }]);
  });
});
